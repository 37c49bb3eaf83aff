"""Every page string has its Chinese translation; the pages switch language."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from gateway.web.i18n import translations

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"


def _page_strings() -> set[str]:
    found = extract_from_dir(
        str(GATEWAY),
        method_map=[("web/templates/**.html", "jinja2"), ("web/field_labels.py", "python")],
        options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_string_of_every_page_is_translated_to_chinese():
    strings = _page_strings()
    assert len(strings) > 100  # the extraction really read the templates
    chinese = translations("zh_CN")
    untranslated = sorted(s for s in strings if chinese.gettext(s) == s)
    assert untranslated == []


def test_the_sign_in_page_speaks_chinese_by_default_and_english_when_switched(platform):
    assert "登录" in platform.client.get("/login").text
    switched = platform.client.get("/lang/en?next=/login", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "Sign in" in platform.client.get("/login").text
    evil = platform.client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert evil.headers["location"] == "/"
