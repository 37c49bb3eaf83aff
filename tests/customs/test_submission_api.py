"""Submitting CEB messages to customs: 202 with receipts, or a problem naming element and rule."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from pydantic import ValidationError
from sqlalchemy import func, select

from customs.ceb.parsing import MAX_BODY_BYTES
from customs.ceb.schema import CEB_NS, DS_NS, schema_for
from customs.db import Document, Receipt, runtime
from customs.settings import CustomsSettings
from tests.support import sample

XML = {"Content-Type": "application/xml"}
CEB311 = sample("import", "CEB311Message")


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_official_ceb311_sample_is_accepted_with_a_receipt_per_order(
    customs_api, customs_engine
):
    answer = customs_api.post("/v1/messages", content=CEB311, headers=XML)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["messageType"] == "CEB311Message"
    assert len(body["documents"]) == 6
    assert {d["businessKey"] for d in body["documents"]} == {"order20160321116421002"}
    assert all(d["returnStatus"] == 2 for d in body["documents"])
    assert answer.headers["location"] == f"/v1/submissions/{body['submissionId']}"
    # stored with one outbox event per document, in the same transaction
    assert _count(customs_engine, Document.__table__) == 6
    assert _count(customs_engine, Receipt.__table__) == 6
    assert _count(customs_engine, runtime.outbox) == 6


def test_a_receipt_is_served_as_json_and_as_official_ceb312_xml(customs_api):
    reference = customs_api.post("/v1/messages", content=CEB311, headers=XML).json()["documents"][
        0
    ]["reference"]
    as_json = customs_api.get(f"/v1/receipts/{reference}").json()
    assert as_json["messageType"] == "CEB312Message"
    assert as_json["returnStatus"] == 2
    assert as_json["orderNo"] == "order20160321116421002"
    assert as_json["ebpCode"] == "1105910159"
    assert len(as_json["returnTime"]) == 17

    as_xml = customs_api.get(f"/v1/receipts/{reference}", headers={"Accept": "application/xml"})
    assert as_xml.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(as_xml.content)
    assert schema_for("import").validate(root), schema_for("import").error_log
    ns = {"ceb": CEB_NS}
    assert root.findtext("ceb:OrderReturn/ceb:returnStatus", namespaces=ns) == "2"
    assert root.findtext("ceb:OrderReturn/ceb:orderNo", namespaces=ns) == "order20160321116421002"
    assert customs_api.get(f"/v1/receipts/{reference}?format=xml").content == as_xml.content


def test_a_submission_lists_its_documents(customs_api):
    submitted = customs_api.post("/v1/messages", content=CEB311, headers=XML).json()
    listed = customs_api.get(f"/v1/submissions/{submitted['submissionId']}").json()
    assert [d["reference"] for d in listed["documents"]] == [
        d["reference"] for d in submitted["documents"]
    ]


def _problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status
    assert problem["correlation_id"] == answer.headers["x-correlation-id"]
    return problem


def test_a_missing_mandatory_element_is_named_with_the_xsd_rule_and_line(
    customs_api, customs_engine
):
    body = CEB311.replace(b"<ceb:orderNo>order20160321116421002</ceb:orderNo>", b"", 1)
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    assert problem["code"] == "0002"
    first = problem["errors"][0]
    assert first["path"] == "/ceb:CEB311Message/ceb:Order[1]/ceb:OrderHead/ceb:ebpCode"
    assert first["rule"] == "xsd:SCHEMAV_ELEMENT_CONTENT"
    assert "orderNo" in first["message"]
    assert first["line"] == 12
    assert _count(customs_engine, runtime.outbox) == 0  # nothing stored for a refused message


def test_a_value_breaking_a_facet_is_named(customs_api):
    body = CEB311.replace(
        b"<ceb:currency>142</ceb:currency>", b"<ceb:currency>1422</ceb:currency>", 1
    )
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    (error,) = [e for e in problem["errors"] if e["path"].endswith("ceb:OrderHead/ceb:currency")]
    assert error["value"] == "1422"
    assert error["rule"] == "xsd:SCHEMAV_CVC_LENGTH_VALID"
    assert "allowed length of '3'" in error["message"]


def test_personal_data_in_an_error_is_masked(customs_api):
    body = CEB311.replace(
        b"<ceb:buyerIdNumber>130681136250023332</ceb:buyerIdNumber>",
        b"<ceb:buyerIdNumber>" + b"1" * 61 + b"</ceb:buyerIdNumber>",
        1,
    )
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    (error,) = [e for e in problem["errors"] if e["path"].endswith("ceb:buyerIdNumber")]
    assert error["value"] == "111" + "*" * 54 + "1111"
    assert "1" * 20 not in str(problem)


def test_a_body_that_is_not_xml_is_refused_as_a_bad_message_format(customs_api):
    problem = _problem(
        customs_api.post("/v1/messages", content=b"<ceb:CEB311Message", headers=XML), 400
    )
    assert problem["code"] == "0001"
    assert problem["errors"][0]["rule"] == "well-formed"


def test_an_empty_body_is_refused(customs_api):
    problem = _problem(customs_api.post("/v1/messages", content=b"", headers=XML), 400)
    assert problem["errors"][0]["message"] == "the body is empty"


def test_a_doctype_is_refused_before_parsing(customs_api):
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"\n<lolz>&lol2;</lolz>"
    )
    problem = _problem(customs_api.post("/v1/messages", content=bomb, headers=XML), 400)
    assert problem["errors"][0]["rule"] == "no-dtd"
    assert problem["errors"][0]["line"] == 2


def test_an_external_entity_cannot_be_smuggled_in(customs_api):
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    problem = _problem(customs_api.post("/v1/messages", content=xxe, headers=XML), 400)
    assert "root:" not in str(problem)


def test_too_deep_nesting_is_refused(customs_api):
    body = b"<a>" * 40 + b"</a>" * 40
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 400)
    assert problem["errors"][0]["rule"] == "max-depth"


def test_an_oversized_body_is_refused_without_being_parsed(customs_api):
    body = b"<a>" + b" " * (MAX_BODY_BYTES + 1) + b"</a>"
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 413)
    assert problem["errors"][0]["rule"] == "max-body-size"


def test_a_foreign_root_element_is_refused(customs_api):
    problem = _problem(
        customs_api.post("/v1/messages", content=b"<order><no>1</no></order>", headers=XML), 422
    )
    assert problem["errors"][0]["rule"] == "root-element"


def test_a_receipt_message_is_refused_since_only_customs_sends_receipts(customs_api):
    problem = _problem(
        customs_api.post("/v1/messages", content=sample("import", "CEB312Message"), headers=XML),
        422,
    )
    assert problem["errors"][0]["rule"] == "accepted-message-types"
    assert problem["errors"][0]["value"] == "CEB312Message"


def test_an_official_export_sample_that_breaks_the_xsd_is_refused_with_the_reason(customs_api):
    problem = _problem(
        customs_api.post("/v1/messages", content=sample("export", "CEB303Message"), headers=XML),
        422,
    )
    first = problem["errors"][0]
    assert first["path"].endswith("ceb:BaseTransfer[2]") or "BaseTransfer" in first["message"]
    assert "This element is not expected" in first["message"]


def test_an_unknown_receipt_reference_is_a_404_problem(customs_api):
    problem = _problem(customs_api.get("/v1/receipts/no-such-ref"), 404)
    assert "no-such-ref" in problem["detail"]


def test_the_correlation_id_of_the_caller_is_kept(customs_api):
    answer = customs_api.get("/v1/receipts/x", headers={"X-Correlation-ID": "trace-42"})
    assert answer.headers["x-correlation-id"] == "trace-42"
    assert answer.json()["correlation_id"] == "trace-42"


DATA_SAMPLES = [
    ("import", name)
    for name in (
        "CEB311Message",
        "CEB411Message",
        "CEB511Message",
        "CEB513Message",
        "CEB621Message",
        "CEB623Message",
        "CEB625Message",
        "CEB711Message",
    )
] + [("export", name) for name in ("CEB213Message", "CEB215Message", "CEB701Message")]


@pytest.mark.parametrize(("direction", "name"), DATA_SAMPLES, ids=[n for _, n in DATA_SAMPLES])
def test_every_valid_official_data_sample_gets_a_receipt_per_document_valid_against_the_xsd(
    customs_api, direction, name
):
    body = sample(direction, name)
    answer = customs_api.post("/v1/messages", content=body, headers=XML)
    assert answer.status_code == 202, answer.text
    documents = answer.json()["documents"]
    expected = len(etree.fromstring(body)) - len(
        etree.fromstring(body).xpath(
            "ceb:BaseTransfer|ceb:BaseSubscribe|ceb:ExtendMessage|ds:*",
            namespaces={"ceb": CEB_NS, "ds": DS_NS},
        )
    )
    assert len(documents) == expected
    receipt = customs_api.get(f"/v1/receipts/{documents[0]['reference']}?format=xml")
    root = etree.fromstring(receipt.content)
    assert etree.QName(root).localname == f"CEB{int(name[3:6]) + 1}Message"
    assert schema_for(direction).validate(root), schema_for(direction).error_log


def test_buyer_personal_data_is_never_stored_in_clear(customs_api, customs, customs_engine):
    customs_api.post("/v1/messages", content=CEB311, headers=XML)
    with customs_engine.connect() as conn:
        stored = b"".join(
            str(value).encode() if not isinstance(value, bytes) else value
            for table in ("submission", "document")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
            for value in row
        )
        document = conn.execute(select(Document)).first()
    for secret in ("130681136250023332", "18813025940", "焦洪宇", "北京市海淀区", "13522652231"):
        assert secret.encode() not in stored
    head = customs.vault.join(json.loads(document.head), document.personal)
    assert head["buyerIdNumber"] == "130681136250023332"
    assert head["consignee"] == "焦洪宇"
    assert document.buyer_key == customs.vault.buyer_key("1", "130681136250023332")


def test_customs_refuses_to_start_without_a_data_key(monkeypatch):
    monkeypatch.delenv("CUSTOMS_DATA_KEY", raising=False)
    with pytest.raises(ValidationError, match="data_key"):
        CustomsSettings()
    with pytest.raises(ValidationError, match="at least 32"):
        CustomsSettings(data_key="short")
