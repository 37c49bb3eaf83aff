"""An officer works a flagged declaration from the queue to a decision through the pages; the
enterprises concerned follow it through the API, and nobody else sees it."""

from __future__ import annotations

import re

from tests.customs import builders
from tests.support import wait_for
from tests.test_flow import submit_set, workers


def _flagged_declaration(broker, customs, risk_engine) -> None:
    # high value (30) + a first-time enterprise (25) = 55: manual review
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    with workers(broker, customs, risk_engine):
        submit_set(customs, declaration)
        wait_for(
            lambda: (
                (
                    found := __import__(
                        "customs.clearance_service"
                    ).clearance_service.find_declarations(customs, status=300)
                )
                and found
            ),
            timeout_s=20,
        )


def test_an_officer_works_a_flagged_declaration_from_the_queue_to_release(
    broker, customs, risk_engine, platform
):
    _flagged_declaration(broker, customs, risk_engine)
    seller = platform.tenant("Seller", [builders.EBC_CODE])
    foreign = platform.tenant("Foreign", ["3301960ABC"])
    password = platform.user("officer.wang", "officer", officerRole="reviewer")
    platform.sign_in("officer.wang", password)

    queue = platform.client.get("/officer")
    assert queue.status_code == 200
    assert builders.ORDER_NO in queue.text and "high-value" in queue.text
    link = re.search(r'href="/officer/declarations/([0-9a-f-]{36})"', queue.text)
    assert link, queue.text
    declaration_id = link.group(1)
    filtered = platform.client.get("/officer?reason=prohibited-goods")
    assert builders.ORDER_NO not in filtered.text

    page = platform.client.get(f"/officer/declarations/{declaration_id}")
    assert page.status_code == 200
    scored = platform.client.get(f"/api/v1/declarations/{declaration_id}").json()["risk"]
    assert scored["route"] == "review" and scored["score"] >= 40
    assert f'id="risk-score">{scored["score"]}<' in page.text
    assert builders.BUYER_ID not in page.text  # masked
    csrf = platform.csrf(f"/officer/declarations/{declaration_id}")
    refused = platform.client.post(
        f"/officer/declarations/{declaration_id}/decide",
        data={"action": "release", "reason": "invoice checked"},
        follow_redirects=False,
    )
    assert refused.status_code == 403  # no CSRF token
    decided = platform.client.post(
        f"/officer/declarations/{declaration_id}/decide",
        data={"action": "release", "reason": "invoice checked", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert decided.headers["location"].endswith("?notice=decided")
    after = platform.client.get(decided.headers["location"])
    assert "(800)" in after.text and "officer.wang" in after.text
    assert builders.ORDER_NO not in platform.client.get("/officer").text  # left the queue

    stats = platform.client.get("/officer/stats")
    assert stats.status_code == 200 and "<svg" in stats.text

    platform.client.cookies.clear()
    mine = platform.client.get(f"/api/v1/declarations/{declaration_id}", headers=seller.auth())
    assert mine.status_code == 200 and mine.json()["status"] == 800
    theirs = platform.client.get(f"/api/v1/declarations/{declaration_id}", headers=foreign.auth())
    assert theirs.status_code == 404
    listed = platform.client.get("/api/v1/declarations", headers=foreign.auth()).json()
    assert listed["declarations"] == []
    assert platform.client.get("/api/v1/review-queue", headers=seller.auth()).status_code == 403
    assert platform.client.get(
        "/officer", headers=seller.auth(), follow_redirects=False
    ).status_code in (303, 403)
