"""Export inventories as declarations: officers send one to manual review (300), conclude or
reject it through the decisions API of import declarations, and every state change of an export
inventory is announced as a customs.clearance_changed.v1 (direction export)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from customs import service
from customs.domain import export_clearance as rules
from customs.domain.clearance import Action, TransitionRefused, allowed_codes, transition
from customs.domain.export_clearance import Inventory, Step
from schemas.topics import CUSTOMS_EVENTS
from tests.customs import builders
from tests.customs.test_export_flow import _arrival, _cancellation, _departure, _statuses
from tests.support import wait_for
from tests.test_flow import workers


def _answer(customs, body: bytes) -> service.ReceiptView:
    accepted = service.submit_message(customs, body, correlation_id=f"review-{uuid.uuid4()}")
    reference = accepted.documents[0].reference
    return wait_for(
        lambda: (v := service.receipt_view(customs, reference)).return_status != 2 and v,
        timeout_s=15,
    )


def _declaration(customs_api, order_no: str) -> dict[str, Any]:
    (found,) = customs_api.get(f"/v1/declarations?orderNo={order_no}").json()["declarations"]
    return found


def _decide(customs_api, declaration_id: str, action: str, reason: str = "checked"):
    return customs_api.post(
        f"/v1/declarations/{declaration_id}/decisions",
        json={"action": action, "officer": "officer-7", "reason": reason},
    )


def _clearance_events(settings: object, wanted: int) -> list[dict[str, Any]]:
    """Export clearance changes on customs.events, read from the start until `wanted` came."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        CUSTOMS_EVENTS.name,
        bootstrap_servers=settings.bootstrap_servers,  # type: ignore[attr-defined]
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        for batch in consumer.poll(timeout_ms=100).values():
            for record in batch:
                payload = json.loads(record.value)["payload"]
                if payload["type"] == "customs.clearance_changed.v1":
                    found.append(payload)
        return len(found) >= wanted

    try:
        wait_for(enough, timeout_s=30)
    finally:
        consumer.close()
    return found


def test_an_officer_reviews_an_export_inventory_and_its_arrival_then_releases_the_goods(
    broker, customs, risk_engine, customs_api
):
    with workers(broker, customs, risk_engine):
        reviewed = _answer(customs, builders.export_inventory_message("R1"))
        plain = _answer(customs, builders.export_inventory_message("R2"))
        refused = _answer(customs, builders.export_inventory_message("R3"))
        declaration = _declaration(customs_api, "EXP-R1")
        sent = _decide(customs_api, declaration["id"], "review", "declared value to be checked")
        queue = customs_api.get("/v1/declarations?status=300").json()["declarations"]
        blocked = _answer(customs, _arrival("ARR-R1", ["L-R1"]))
        inspect = _decide(customs_api, declaration["id"], "inspect")
        concluded = _decide(customs_api, declaration["id"], "release", "value confirmed")
        again = _decide(customs_api, declaration["id"], "release")
        arrival = _answer(customs, _arrival("ARR-R2", ["L-R1", "L-R2"]))
        departure = _answer(customs, _departure("DEP-R", ["L-R1", "L-R2"]))
        rejected = _decide(customs_api, _declaration(customs_api, "EXP-R3")["id"], "reject")
        cancelled = _answer(customs, _cancellation("CAN-R3", refused.keys["invtNo"]))
        events = _clearance_events(broker.settings, wanted=11)

    number = reviewed.keys["invtNo"]
    assert (declaration["direction"], declaration["invtNo"]) == ("export", number)
    assert sent.status_code == 200, sent.text
    assert sent.json()["returnStatuses"] == [300]
    assert [(d["id"], d["direction"]) for d in queue] == [(declaration["id"], "export")]
    assert blocked.return_status == 100
    assert f"inventory {number} is under manual review (300)" in blocked.return_info

    assert inspect.status_code == 409
    assert "CEB604Message) has no code for it" in inspect.json()["detail"]
    assert concluded.json()["returnStatuses"] == [399]
    assert again.status_code == 409 and again.json()["allowedFrom"] == [300]
    assert arrival.return_status == 399, arrival.return_info
    assert departure.return_status == 399, departure.return_info
    assert _statuses(customs, reviewed.reference) == [2, 120, 300, 399, 800, 899]
    assert _statuses(customs, plain.reference) == [2, 120, 399, 800, 899]

    assert rejected.json()["returnStatuses"] == [100]
    assert cancelled.return_status == 100 and "is rejected or cancelled (100)" in (
        cancelled.return_info
    )
    view = customs_api.get(f"/v1/declarations/{declaration['id']}").json()
    assert [(d["action"], d["from"], d["to"], d["actor"]) for d in view["decisions"]] == [
        ("review", 120, 300, "officer-7"),
        ("release", 300, 399, "officer-7"),
    ]
    assert view["documents"]["inventory"]["messageType"] == "CEB603Message"

    # every change of every export inventory was announced, in order, with its number
    by_number: dict[str, list[int]] = {}
    for event in events:
        assert event["direction"] == "export" and event["receipt_message"] == "CEB604Message"
        assert event["parties"]["ebcCode"] == builders.EXPORT_CONSIGNOR
        by_number.setdefault(event["invt_no"], []).append(event["return_status"])
    assert by_number == {
        number: [120, 300, 399, 800, 899],
        plain.keys["invtNo"]: [120, 399, 800, 899],
        refused.keys["invtNo"]: [120, 100],
    }


def test_a_cancellation_of_an_export_inventory_is_announced_with_its_reason(
    broker, customs, risk_engine
):
    with workers(broker, customs, risk_engine):
        inventory = _answer(customs, builders.export_inventory_message("K1"))
        _answer(customs, _cancellation("CAN-K1", inventory.keys["invtNo"]))
        events = _clearance_events(broker.settings, wanted=2)
    assert [e["return_status"] for e in events] == [120, 100]
    assert "CAN-K1" in events[1]["return_info"] and events[1]["order_no"] == "EXP-K1"


# --- the rules, on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "codes"),
    [
        (Action.REVIEW, 120, (300,)),
        (Action.RELEASE, 300, (399,)),
        (Action.REJECT, 120, (100,)),
        (Action.REJECT, 300, (100,)),
        (Action.REJECT, 399, (100,)),
    ],
)
def test_an_officer_action_on_an_export_inventory_issues_ceb604_codes_only(action, status, codes):
    assert rules.officer_step(Inventory("I1", status), action).codes == codes
    assert set(codes) <= allowed_codes("CEB604")


@pytest.mark.parametrize(
    ("inventory", "action", "why"),
    [
        (Inventory("I1", 120), Action.INSPECT, "has no code for it"),
        (Inventory("I1", 500), Action.DETAIN, "has no code for it"),
        (Inventory("I1", 800), Action.CLOSE, "has no code for it"),
        (Inventory("I1", 120), Action.RELEASE, "allowed from 300"),
        (Inventory("I1", 300), Action.REVIEW, "allowed from 120"),
        (Inventory("I1", 800), Action.REJECT, "allowed from 120, 300, 399"),
        (Inventory("I1", 120, cancelled=True), Action.REVIEW, "inventory I1 was cancelled"),
        (
            Inventory("I1", 399, summarised_in="S20240901000000001"),
            Action.REJECT,
            "inventory I1 is summarised in S20240901000000001",
        ),
    ],
)
def test_an_officer_action_an_export_inventory_cannot_take_is_refused_naming_why(
    inventory, action, why
):
    with pytest.raises(TransitionRefused) as refused:
        rules.officer_step(inventory, action)
    assert why in str(refused.value)


def test_an_arrival_releases_an_inventory_whose_review_concluded():
    assert rules.receipts(Inventory("I1", 399), Step.ARRIVE) == (800,)
    assert rules.receipts(Inventory("I1", 120), Step.ARRIVE) == (399, 800)


def test_an_officer_does_not_send_an_import_declaration_to_review():
    with pytest.raises(TransitionRefused, match="an import declaration is routed by risk"):
        transition(120, Action.REVIEW)
