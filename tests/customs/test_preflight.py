"""Pre-flight: one document checked as a submission would be, against its counterparts on file,
with nothing stored."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from customs.db import Document
from customs.domain.matching import Doc
from tests.customs import builders

ORDER_SENDER = builders.EBP_CODE
SCOPE = {"X-Clearway-Scope": f"codes={builders.EBP_CODE},{builders.EBC_CODE}"}


def message(message_type: str, doc: Doc, sender: str = ORDER_SENDER) -> dict:
    document: dict = {"head": dict(doc.head)}
    if doc.lines:
        document["lines"] = [dict(line) for line in doc.lines]
    return {
        "messageType": message_type,
        "baseTransfer": {"copCode": sender, "copName": "某企业"},
        "documents": [document],
    }


def _file(customs_api, message_type: str, doc: Doc, sender: str = ORDER_SENDER) -> None:
    answer = customs_api.post(
        "/v1/messages", json=message(message_type, doc, sender), headers=SCOPE
    )
    assert answer.status_code == 202, answer.text


def _preflight(customs_api, message_type: str, doc: Doc, headers=SCOPE):
    return customs_api.post("/v1/preflight", json=message(message_type, doc), headers=headers)


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Document)).scalar_one()


def test_an_inventory_is_matched_against_the_documents_on_file_with_tax_and_quota(
    customs_api, customs_engine
):
    s = builders.declaration_set()
    _file(customs_api, "CEB311Message", s.order)
    _file(customs_api, "CEB411Message", s.payment)
    _file(customs_api, "CEB511Message", s.waybill)
    before = _count(customs_engine)

    changed = builders.with_line(s.inventory, 1, qty="3", totalPrice="300.00")
    answer = _preflight(customs_api, "CEB621Message", changed)

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["formatErrors"] == []
    assert {role for role, found in result["counterparts"].items() if found} == {
        "order",
        "payment",
        "waybill",
    }
    x7 = [m for m in result["mismatches"] if m["rule"] == "X7"]
    assert x7 and x7[0]["fieldHere"] in {"qty", "totalPrice"}
    assert result["ok"] is False
    assert result["tax"]["totalTax"]
    assert result["quota"] == {
        "year": 2024,
        "annualLimit": "26000",
        "used": "0.00",
        "remaining": "26000.00",
        "thisDeclaration": "310.00",
        "remainingAfter": "25690.00",
    }
    assert _count(customs_engine) == before  # nothing stored


def test_a_consistent_inventory_passes_with_its_tax_estimate(customs_api):
    s = builders.declaration_set()
    _file(customs_api, "CEB311Message", s.order)
    answer = _preflight(customs_api, "CEB621Message", s.inventory)
    result = answer.json()
    assert result["ok"] is True, result["mismatches"]
    assert result["mismatches"] == []
    assert result["counterparts"]["order"] is not None
    assert result["counterparts"]["payment"] is None
    assert result["tax"]["dutiableValue"] == "210.00"
    assert result["tax"]["totalTax"] == "19.11"


def test_a_format_error_is_named_by_its_json_path_and_rule_and_nothing_is_stored(
    customs_api, customs_engine
):
    order = builders.order(currency="14", acturalPaid="abc")
    answer = _preflight(customs_api, "CEB311Message", order)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["ok"] is False
    paths = {e["path"]: e for e in result["formatErrors"]}
    assert "/documents/0/head/currency" in paths
    assert paths["/documents/0/head/currency"]["rule"].startswith("xsd:")
    assert paths["/documents/0/head/currency"]["field"] == "currency"
    assert _count(customs_engine) == 0


def test_counterparts_outside_the_callers_scope_are_not_used(customs_api):
    s = builders.declaration_set()
    _file(customs_api, "CEB311Message", s.order)
    carrier = builders.LOGISTICS_CODE

    def waybill_check(codes: str) -> dict:
        body = message("CEB511Message", s.waybill, sender=carrier)
        answer = customs_api.post(
            "/v1/preflight", json=body, headers={"X-Clearway-Scope": f"codes={codes}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    # the order names the platform and the seller, not the carrier: the carrier cannot use it
    assert waybill_check(carrier)["counterparts"]["order"] is None
    assert waybill_check(f"{carrier},{builders.EBP_CODE}")["counterparts"]["order"] is not None


def test_a_sender_outside_the_callers_codes_is_refused(customs_api):
    s = builders.declaration_set()
    answer = _preflight(
        customs_api, "CEB311Message", s.order, headers={"X-Clearway-Scope": "codes=9999999999"}
    )
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["path"] == "BaseTransfer/copCode"


def test_two_documents_at_once_are_refused_naming_the_rule(customs_api):
    s = builders.declaration_set()
    body = message("CEB311Message", s.order)
    body["documents"].append(body["documents"][0])
    answer = customs_api.post("/v1/preflight", content=json.dumps(body), headers=SCOPE)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["rule"] == "one-document"
