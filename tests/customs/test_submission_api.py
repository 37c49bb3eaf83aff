"""Submitting CEB messages to customs: 202 with receipts, or a problem naming element and rule."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from pydantic import ValidationError
from sqlalchemy import func, select

from customs.app import create_app
from customs.ceb import dxp
from customs.ceb.identity import certificate_der
from customs.ceb.parsing import MAX_BODY_BYTES, parse_untrusted
from customs.ceb.schema import CEB_NS, DS_NS, schema_for
from customs.ceb.signature import RSA_SHA1, RSA_SHA256, SM2_SM3, verify_enveloped
from customs.db import Document, Receipt, runtime
from customs.receipt_signing import make_identity
from customs.settings import CustomsSettings
from tests.conftest import TEST_DATA_KEY
from tests.support import Identity, sample, unsigned

XML = {"Content-Type": "application/xml"}
# The official sample's signature is a placeholder (its digest does not match): customs refuses it
# as it stands, and takes the same document unsigned, which the XSD allows for CEB311.
CEB311_AS_PUBLISHED = sample("import", "CEB311Message")
CEB311 = unsigned(CEB311_AS_PUBLISHED)


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
    # decided on arrival: the sample's six orders share one orderNo, the first is accepted and
    # the five others are answered as duplicates
    assert [d["returnStatus"] for d in body["documents"]] == [120] + [-301010] * 5
    assert answer.headers["location"] == f"/v1/submissions/{body['submissionId']}"
    # stored, declared (2) and decided, with its events in the same transaction: the accepted
    # documents announced together (here the one), each refused one on its own
    assert _count(customs_engine, Document.__table__) == 6
    assert _count(customs_engine, Receipt.__table__) == 12
    with customs_engine.connect() as conn:
        staged = conn.execute(select(runtime.outbox.c.event_type, runtime.outbox.c.body)).all()
        taken_in = conn.execute(
            select(Document.__table__.c.id).where(Document.__table__.c.return_status == 120)
        ).scalar_one()
    types = sorted(event_type for event_type, _ in staged)
    assert types == ["customs.document_rejected.v1"] * 5 + ["customs.documents_accepted.v1"]
    (accepted,) = [json.loads(b) for t, b in staged if t == "customs.documents_accepted.v1"]
    assert [d["document_id"] for d in accepted["payload"]["documents"]] == [taken_in]


def test_a_receipt_is_served_as_json_and_as_official_ceb312_xml(customs_api):
    reference = customs_api.post("/v1/messages", content=CEB311, headers=XML).json()["documents"][
        0
    ]["reference"]
    as_json = customs_api.get(f"/v1/receipts/{reference}").json()
    assert as_json["messageType"] == "CEB312Message"
    assert as_json["returnStatus"] == 120  # decided on arrival
    assert [h["returnStatus"] for h in as_json["history"]] == [2, 120]
    assert as_json["orderNo"] == "order20160321116421002"
    assert as_json["ebpCode"] == "1105910159"
    assert len(as_json["returnTime"]) == 17

    as_xml = customs_api.get(f"/v1/receipts/{reference}", headers={"Accept": "application/xml"})
    assert as_xml.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(as_xml.content)
    assert schema_for("import").validate(root), schema_for("import").error_log
    ns = {"ceb": CEB_NS}
    assert root.findtext("ceb:OrderReturn/ceb:returnStatus", namespaces=ns) == "120"
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
    # the format checks come before the signature: the published sample's lines are reported
    body = CEB311_AS_PUBLISHED.replace(b"<ceb:orderNo>order20160321116421002</ceb:orderNo>", b"", 1)
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


OPTIONALLY_SIGNED = [
    ("import", name)
    for name in ("CEB311Message", "CEB411Message", "CEB511Message", "CEB513Message")
] + [("export", name) for name in ("CEB213Message", "CEB215Message", "CEB701Message")]
MUST_BE_SIGNED = [
    ("import", name)
    for name in ("CEB621Message", "CEB623Message", "CEB625Message", "CEB711Message")
]
ALL_DATA_SAMPLES = OPTIONALLY_SIGNED + MUST_BE_SIGNED


def _documents_in(body: bytes) -> int:
    root = etree.fromstring(body)
    envelope = root.xpath(
        "ceb:BaseTransfer|ceb:BaseSubscribe|ceb:ExtendMessage|ds:*",
        namespaces={"ceb": CEB_NS, "ds": DS_NS},
    )
    return len(root) - len(envelope)


def _register(customs_api, identity: Identity, body: bytes) -> None:
    """Register the identity's certificate to the message's sender (BaseTransfer copCode)."""
    cop_code = etree.fromstring(body).findtext(f"{{{CEB_NS}}}BaseTransfer/{{{CEB_NS}}}copCode")
    answer = customs_api.post(
        "/v1/certificates",
        json={
            "enterpriseCode": cop_code,
            "certificate": identity.pem,
            "algorithms": [identity.algorithm],
        },
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("direction", "name"), ALL_DATA_SAMPLES, ids=[n for _, n in ALL_DATA_SAMPLES]
)
def test_every_official_data_sample_is_refused_for_its_placeholder_signature(
    customs_api, direction, name
):
    problem = _problem(
        customs_api.post("/v1/messages", content=sample(direction, name), headers=XML), 422
    )
    assert problem["code"] == ("-623029" if name == "CEB623Message" else "-621028")
    assert problem["errors"][0]["rule"] == "digest-mismatch"
    assert problem["errors"][0]["path"].endswith("ds:DigestValue")


@pytest.mark.parametrize(
    ("direction", "name"), OPTIONALLY_SIGNED, ids=[n for _, n in OPTIONALLY_SIGNED]
)
def test_an_optionally_signed_official_sample_is_accepted_unsigned_with_xsd_valid_receipts(
    customs_api, direction, name
):
    _accepted_with_valid_receipts(customs_api, direction, name, unsigned(sample(direction, name)))


@pytest.mark.parametrize(("direction", "name"), MUST_BE_SIGNED, ids=[n for _, n in MUST_BE_SIGNED])
def test_a_mandatorily_signed_sample_signed_with_a_registered_certificate_is_accepted(
    customs_api, direction, name
):
    identity = Identity.make(SM2_SM3)
    body = identity.sign(sample(direction, name))
    _register(customs_api, identity, body)
    _accepted_with_valid_receipts(customs_api, direction, name, body)


def _accepted_with_valid_receipts(customs_api, direction: str, name: str, body: bytes) -> None:
    answer = customs_api.post("/v1/messages", content=body, headers=XML)
    assert answer.status_code == 202, answer.text
    documents = answer.json()["documents"]
    assert len(documents) == _documents_in(body)
    receipt = customs_api.get(f"/v1/receipts/{documents[0]['reference']}?format=xml")
    root = etree.fromstring(receipt.content)
    assert etree.QName(root).localname == f"CEB{int(name[3:6]) + 1}Message"
    assert schema_for(direction).validate(root), schema_for(direction).error_log


def test_a_mandatorily_signed_message_without_its_signature_fails_the_xsd(customs_api):
    problem = _problem(
        customs_api.post(
            "/v1/messages", content=unsigned(sample("import", "CEB621Message")), headers=XML
        ),
        422,
    )
    assert problem["code"] == "0002"
    assert "Signature" in problem["errors"][0]["message"]


@pytest.mark.parametrize("algorithm", [RSA_SHA1, RSA_SHA256, SM2_SM3])
def test_a_message_signed_with_a_registered_certificate_is_accepted(customs_api, algorithm):
    identity = Identity.make(algorithm)
    body = identity.sign(CEB311)
    _register(customs_api, identity, body)
    assert customs_api.post("/v1/messages", content=body, headers=XML).status_code == 202


def test_a_signature_by_an_unregistered_certificate_is_refused(customs_api):
    body = Identity.make(SM2_SM3).sign(CEB311)
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    assert problem["code"] == "-621029"
    assert problem["errors"][0]["rule"] == "certificate-not-registered"


def test_a_certificate_registered_to_another_enterprise_does_not_sign_for_the_sender(customs_api):
    identity = Identity.make(RSA_SHA256)
    registered = customs_api.post(
        "/v1/certificates",
        json={
            "enterpriseCode": "9999999999",
            "certificate": identity.pem,
            "algorithms": [RSA_SHA256],
        },
    )
    assert registered.status_code == 201
    problem = _problem(
        customs_api.post("/v1/messages", content=identity.sign(CEB311), headers=XML), 422
    )
    assert problem["errors"][0]["rule"] == "certificate-not-registered"


def test_a_revoked_certificate_no_longer_signs(customs_api):
    identity = Identity.make(SM2_SM3)
    body = identity.sign(CEB311)
    _register(customs_api, identity, body)
    (cert,) = customs_api.get("/v1/certificates?enterpriseCode=1101180326").json()["certificates"]
    assert customs_api.delete(f"/v1/certificates/{cert['id']}").json()["revokedAt"]
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    assert problem["errors"][0]["rule"] == "certificate-not-registered"


def test_an_algorithm_not_registered_for_the_certificate_is_refused(customs_api):
    identity = Identity.make(RSA_SHA1)
    body = identity.sign(CEB311)
    customs_api.post(
        "/v1/certificates",
        json={
            "enterpriseCode": "1101180326",
            "certificate": identity.pem,
            "algorithms": [RSA_SHA256],
        },
    )
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    assert problem["errors"][0]["rule"] == "algorithm-not-allowed"


def test_a_value_changed_after_signing_is_refused_as_data_mismatch(customs_api):
    identity = Identity.make(SM2_SM3)
    body = identity.sign(CEB311)
    _register(customs_api, identity, body)
    tampered = body.replace(
        b"<ceb:goodsValue>14000</ceb:goodsValue>", b"<ceb:goodsValue>1400</ceb:goodsValue>", 1
    )
    problem = _problem(customs_api.post("/v1/messages", content=tampered, headers=XML), 422)
    assert problem["code"] == "-621028"
    assert problem["returnStatus"] == -621028


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"enterpriseCode": "1101180326", "certificate": "not a cert", "algorithms": [RSA_SHA1]},
            "certificate",
        ),
        (
            {"enterpriseCode": "1101180326", "certificate": "QUJD", "algorithms": ["md5"]},
            "algorithms",
        ),
    ],
)
def test_a_bad_certificate_registration_names_the_field(customs_api, payload, field):
    problem = _problem(customs_api.post("/v1/certificates", json=payload), 422)
    assert problem["errors"][0]["path"] == field


def test_a_field_rule_breach_is_refused_with_the_element_and_rule(customs_api):
    body = CEB311.replace(
        b"<ceb:appTime>20160308112701</ceb:appTime>",
        b"<ceb:appTime>20161308112701</ceb:appTime>",
        1,
    )
    problem = _problem(customs_api.post("/v1/messages", content=body, headers=XML), 422)
    (error,) = problem["errors"]
    assert error["path"] == "/ceb:CEB311Message/ceb:Order[1]/ceb:OrderHead/ceb:appTime"
    assert error["rule"] == "field:timestamp-format"
    assert error["value"] == "20161308112701"


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


def test_a_message_in_a_terminal_dxp_envelope_is_accepted(customs_api):
    wrapped = dxp.wrap(CEB311, sender_id="DXPENT0000458763", msg_type="CEB311Message")
    answer = customs_api.post("/v1/messages", content=wrapped, headers=XML)
    assert answer.status_code == 202, answer.text
    assert len(answer.json()["documents"]) == 6


def test_an_error_inside_a_dxp_envelope_points_into_its_data(customs_api):
    broken = CEB311.replace(
        b"<ceb:currency>142</ceb:currency>", b"<ceb:currency>1422</ceb:currency>", 1
    )
    wrapped = dxp.wrap(broken, sender_id="DXPENT0000458763", msg_type="CEB311Message")
    problem = _problem(customs_api.post("/v1/messages", content=wrapped, headers=XML), 422)
    assert problem["errors"][0]["path"].startswith("/dxp:DxpMsg/dxp:Data/ceb:CEB311Message/")


def _as_json(body: bytes) -> dict:
    root = etree.fromstring(body)
    ns = {"ceb": CEB_NS}
    transfer = {etree.QName(e).localname: e.text or "" for e in root.find("ceb:BaseTransfer", ns)}
    documents = []
    for order in root.findall("ceb:Order", ns):
        head = {etree.QName(e).localname: e.text or "" for e in order.find("ceb:OrderHead", ns)}
        lines = [
            {etree.QName(e).localname: e.text or "" for e in line}
            for line in order.findall("ceb:OrderList", ns)
        ]
        documents.append({"head": head, "lines": lines})
    return {
        "messageType": "CEB311Message",
        "baseTransfer": {k: transfer[k] for k in ("copCode", "copName", "dxpId")},
        "documents": documents,
    }


def test_the_same_order_in_json_form_is_accepted_with_the_same_answer(customs_api):
    answer = customs_api.post("/v1/messages", json=_as_json(CEB311))
    assert answer.status_code == 202, answer.text
    assert [d["businessKey"] for d in answer.json()["documents"]] == ["order20160321116421002"] * 6


def test_a_json_order_breaking_a_rule_is_refused_with_a_path_into_the_json(customs_api):
    payload = _as_json(CEB311)
    payload["documents"][1]["head"]["appTime"] = "20161308112701"
    problem = _problem(customs_api.post("/v1/messages", json=payload), 422)
    assert problem["errors"][0]["path"] == "/documents/1/head/appTime"
    assert problem["errors"][0]["rule"] == "field:timestamp-format"


def test_a_json_number_is_refused_because_it_could_lose_cents(customs_api):
    payload = _as_json(CEB311)
    payload["documents"][0]["head"]["goodsValue"] = 14000.1
    problem = _problem(customs_api.post("/v1/messages", json=payload), 422)
    assert problem["errors"][0]["rule"] == "string-values"
    assert problem["errors"][0]["path"] == "/documents/0/head/goodsValue"


@pytest.fixture
def signing_customs_api(database_url, customs_engine, tmp_path):
    key, cert = make_identity(tmp_path)
    settings = CustomsSettings(
        database_url=database_url,
        data_key=TEST_DATA_KEY,
        receipt_key_file=str(key),
        receipt_cert_file=str(cert),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_receipt_comes_in_a_dxp_envelope_signed_by_the_platform(signing_customs_api):
    api = signing_customs_api
    reference = api.post("/v1/messages", content=CEB311, headers=XML).json()["documents"][0][
        "reference"
    ]
    envelope = parse_untrusted(api.get(f"/v1/receipts/{reference}?format=dxp").content)
    verified = verify_enveloped(envelope, allowed_algorithms=[SM2_SM3])
    published = certificate_der(api.get("/v1/platform-certificate").content)
    assert verified.certificate_der == published
    inner = dxp.unwrap(envelope)
    assert inner.msg_type == "CEB312Message"
    assert inner.receiver_ids == ("1101180326",)
    assert schema_for("import").validate(inner.root)


def test_without_a_signing_identity_a_signed_receipt_is_a_clear_404(customs_api):
    reference = customs_api.post("/v1/messages", content=CEB311, headers=XML).json()["documents"][
        0
    ]["reference"]
    problem = _problem(customs_api.get(f"/v1/receipts/{reference}?format=dxp"), 404)
    assert "CUSTOMS_RECEIPT_KEY_FILE" in problem["detail"]


def test_an_unknown_receipt_format_is_refused_by_name(customs_api):
    problem = _problem(customs_api.get("/v1/receipts/x?format=pdf"), 422)
    assert problem["errors"][0]["path"] == "format"
