"""Risk rules through every layer but HTTP processes: customs and risk workers on the broker,
the rule set changed through the risk API while they run."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from customs import service
from risk.app import create_app
from risk.db import DeclarationRecord
from risk.domain.rules import RuleSet, WatchlistEntry
from risk.settings import RiskSettings
from tests.customs import builders
from tests.support import wait_for
from tests.test_flow import _settled, submit_set, workers

NO_RANDOM = RuleSet(random_inspection_rate=Decimal(0))


def second_set(order_no: str) -> builders.DeclarationSet:
    """Another consistent declaration of the same buyer: its own order, payment and waybill."""
    return builders.declaration_set(
        order={"orderNo": order_no, "payTransactionId": f"PAY-{order_no}"},
        payment={"orderNo": order_no, "payTransactionId": f"PAY-{order_no}"},
        waybill={"orderNo": order_no, "logisticsNo": f"YT-{order_no}"},
        inventory={"orderNo": order_no, "logisticsNo": f"YT-{order_no}", "copNo": order_no},
    )


def test_a_declaration_from_a_watchlisted_seller_is_inspected_with_the_reason(
    broker, customs, risk_engine
):
    rules = replace(
        NO_RANDOM,
        watchlist=(
            WatchlistEntry("enterprise", builders.EBC_CODE, "counterfeit cosmetics seized 2025"),
        ),
    )
    with workers(broker, customs, risk_engine, rules):
        refs = submit_set(customs, builders.declaration_set())
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 500), timeout_s=15)
    assert view["route"] == "inspect"
    (watch,) = [r for r in view["risk"]["reasons"] if r["code"] == "watchlist"]
    assert "counterfeit cosmetics seized 2025" in watch["text"]
    assert watch["evidence"] == {"kind": "enterprise", "field": "ebcCode", "value": "3301960002"}
    inventory = service.receipt_view(customs, refs["inventory"])
    assert [h["returnStatus"] for h in inventory.history] == [2, 120, 500]
    # customs handed risk pseudonyms of the buyer's phone and address, never the clear values
    with Session(risk_engine) as session:
        (record,) = session.query(DeclarationRecord).all()
    assert record.phone_key == customs.vault.phone_key(builders.BUYER_PHONE)
    assert record.address_key == customs.vault.address_key(builders.ADDRESS)


def test_a_rule_change_through_the_api_applies_to_the_next_declaration(
    broker, customs, risk_engine
):
    settings = RiskSettings(
        database_url=risk_engine.url.render_as_string(hide_password=False),
        random_inspection_rate=Decimal(0),
    )
    with workers(broker, customs, risk_engine), TestClient(create_app(settings)) as risk_api:
        submit_set(customs, builders.declaration_set())
        first = wait_for(lambda: _settled(customs, builders.ORDER_NO, 800), timeout_s=15)
        assessed = risk_api.get(f"/v1/assessments/{first['id']}").json()
        ruleset = risk_api.get("/v1/ruleset").json()["ruleset"]
        ruleset["version"] = "rules-2026.12.1"
        ruleset["watchlist"] = [
            {"kind": "buyer", "value": assessed["buyerKey"], "reason": "chargeback fraud reported"}
        ]
        answer = risk_api.post(
            "/v1/ruleset/versions",
            json={"ruleset": ruleset, "reason": "platform report 2024-091"},
            headers={"X-Clearway-Actor": "officer-7"},
        )
        assert answer.status_code == 201, answer.text
        submit_set(customs, second_set("ORD20240901000002"))
        second = wait_for(lambda: _settled(customs, "ORD20240901000002", 500), timeout_s=15)
        history = risk_api.get("/v1/ruleset/versions").json()["versions"]
    assert first["risk"]["ruleset_version"] == "rules-2026.11.1"
    assert second["risk"]["ruleset_version"] == "rules-2026.12.1"
    (watch,) = [r for r in second["risk"]["reasons"] if r["code"] == "watchlist"]
    assert "chargeback fraud reported" in watch["text"]
    assert [(v["version"], v["changedBy"]) for v in history] == [("rules-2026.12.1", "officer-7")]
