"""Every page, in Chinese and in English, rendered by a real browser with a CJK font: each is
kept as a screenshot, speaks the language chosen, and shows no server error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (page, a heading or label it shows in Chinese, the same in English)
SELLER_PAGES = [
    ("/seller", "我的申报", "My declarations"),
    ("/seller/file?kind=order", "录入单证", "File a document"),
    ("/seller/file?kind=payment", "录入单证", "File a document"),
    ("/seller/file?kind=waybill", "录入单证", "File a document"),
    ("/seller/file?kind=inventory", "录入单证", "File a document"),
    ("/seller/upload", "批量导入", "Bulk upload"),
    ("/seller/keys", "API 密钥", "API keys"),
]
ADMIN_PAGES = [("/admin", "系统管理", "Administration")]


def _both_languages(page, pages, prefix: str) -> None:
    for path, chinese, english in pages:
        for language, expected in (("zh_CN", chinese), ("en", english)):
            page.goto(f"/lang/{language}?next={path.replace('?', '%3F').replace('=', '%3D')}")
            assert page.url.endswith(path), page.url
            text = page.inner_text("body")
            assert expected in text, (path, language)
            assert "Internal error" not in text
            name = path.strip("/").replace("/", "-").replace("?kind=", "-") or "home"
            shot(page, f"{prefix}-{name}-{'zh' if language == 'zh_CN' else 'en'}")


def test_the_sign_in_page_in_both_languages(live, page):
    page.goto("/lang/zh_CN?next=/login")
    assert "登录" in page.inner_text("h1")
    shot(page, "login-zh")
    page.goto("/lang/en?next=/login")
    assert page.inner_text("h1") == "Sign in"
    shot(page, "login-en")


def test_every_seller_and_admin_page_in_both_languages(live, page):
    tenant = live.tenant("页面测试企业", ["3301969901"], ["ecommerce_enterprise"])
    sign_in(page, "page.seller", live.user("page.seller", "tenant", tenantId=tenant["id"]))
    _both_languages(page, SELLER_PAGES, "pages")
    page.context.clear_cookies()
    sign_in(page, "page.admin", live.user("page.admin", "admin"))
    _both_languages(page, ADMIN_PAGES, "pages")
