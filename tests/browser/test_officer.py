"""An officer works a flagged declaration from the review queue to a decision, in a real
browser, in Chinese and in English."""

from __future__ import annotations

import pytest

from customs.ceb.signature import SM2_SM3
from customs.ceb.writer import Sender, write_message
from tests.browser.conftest import shot, sign_in
from tests.customs import builders
from tests.support import Identity, wait_for
from tests.test_flow import MESSAGE_TYPES, SENDERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ORDER = builders.ORDER_NO


def _file_flagged_declaration(live) -> None:
    """Four documents from four enterprises through the API; high value from new enterprises
    puts the declaration in manual review."""
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    keys = {}
    for role, field in SENDERS.items():
        code = getattr(declaration, role).head[field]
        if code not in keys:
            keys[code] = live.tenant(f"企业 {code}", [code], ["ecommerce_enterprise"])["key"]
    identity = Identity.make(SM2_SM3)
    agent = declaration.inventory.head["agentCode"]
    registered = live.http.post(
        "/api/v1/certificates",
        json={"enterpriseCode": agent, "certificate": identity.pem, "algorithms": [SM2_SM3]},
        headers={"Authorization": f"Bearer {keys[agent]}"},
    )
    assert registered.status_code == 201, registered.text
    for role in ("order", "payment", "waybill", "inventory"):
        doc = getattr(declaration, role)
        sender = doc.head[SENDERS[role]]
        body = write_message(MESSAGE_TYPES[role], [(doc.head, doc.lines)], Sender(sender, role))
        if role == "inventory":
            body = identity.sign(body)
        answer = live.http.post(
            "/api/v1/messages",
            content=body,
            headers={"Authorization": f"Bearer {keys[sender]}", "Content-Type": "application/xml"},
        )
        assert answer.status_code == 202, answer.text


def test_an_officer_works_a_flagged_declaration_from_the_queue_to_a_decision(live, page):
    _file_flagged_declaration(live)
    password = live.user("officer.li", "officer", officerRole="reviewer")
    sign_in(page, "officer.li", password)

    def queued() -> bool:
        page.goto("/officer")
        return page.locator("#queue a", has_text=ORDER).count() == 1

    wait_for(queued, timeout_s=30, interval_s=0.5)
    assert "审核队列" in page.inner_text("h1")
    shot(page, "officer-queue-zh")
    page.goto("/lang/en?next=/officer")
    assert page.inner_text("h1") == "Review queue"
    shot(page, "officer-queue-en")

    page.click(f"#queue a:has-text('{ORDER}')")
    page.wait_for_selector("#documents")
    assert "high-value" in page.inner_text("#risk")
    assert builders.BUYER_ID not in page.content()  # masked
    shot(page, "officer-declaration-en")
    page.goto(f"/lang/zh_CN?next={page.url.split(live.url, 1)[1]}")
    assert "单证对照" in page.content()
    shot(page, "officer-declaration-zh")

    page.select_option("#action", "release")
    page.fill("#reason", "发票与价格核对无误")
    page.click("#decide-button")
    page.wait_for_selector(".notice")
    assert "处理决定已记录" in page.inner_text(".notice")
    assert "(800)" in page.inner_text("#timeline")
    assert "officer.li" in page.inner_text("#decisions")
    shot(page, "officer-decided-zh")

    page.goto("/officer")
    assert page.locator("#queue a", has_text=ORDER).count() == 0
    page.goto("/officer/stats")
    assert page.locator("#per-day svg").count() == 1
    shot(page, "officer-stats-zh")
    page.goto("/lang/en?next=/officer/stats")
    assert "Release rate" in page.inner_text("#figures")
    shot(page, "officer-stats-en")
