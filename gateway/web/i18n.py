"""The pages' languages: Simplified Chinese (the default in the pilot zone) and English.

Templates are written in English and translated with gettext catalogs (Babel `.po` files under
`gateway/locale/`); the catalogs are compiled in memory when the gateway starts, so nothing
binary lives in the repository. Extract new strings with
`pybabel extract -F gateway/locale/babel.cfg -o gateway/locale/messages.pot gateway/` and
`pybabel update -i gateway/locale/messages.pot -d gateway/locale`.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
TEMPLATE_DIR = Path(__file__).parent / "templates"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGE_COOKIE = "cw_lang"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English is the templates' own language)."""
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def environment(language: str) -> Environment:
    """A Jinja environment whose `_()` speaks `language`."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def language_of(request: Request, preferred: str | None = None) -> str:
    """The page language: ?lang=, then the language cookie, the user's setting, the browser's."""
    for candidate in (
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        preferred,
    ):
        if candidate in LANGUAGES:
            return candidate
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def gettext_for(language: str) -> gettext.NullTranslations:
    return translations(language)
