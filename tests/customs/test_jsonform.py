"""CEB messages sent as JSON become the same XML, and so meet exactly the same rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from lxml import etree

from customs.ceb import jsonform
from customs.ceb.documents import KINDS, extract
from customs.ceb.parsing import MAX_BODY_BYTES, parse_untrusted
from customs.ceb.schema import CEB_NS, validate_against_xsd
from customs.domain.errors import FieldError, MessageFormatError, MessageTooLarge
from customs.validation import check_formats
from tests.support import sample

CEB = f"{{{CEB_NS}}}"


def _fields(element: etree._Element) -> dict[str, str]:
    return {etree.QName(child).localname: child.text or "" for child in element}


def sample_order() -> tuple[dict[str, str], list[dict[str, str]], dict[str, str]]:
    """Head, lines and BaseTransfer of the first Order of the official CEB311 sample."""
    root = etree.fromstring(sample("import", "CEB311Message"))
    order = root.find(f"{CEB}Order")
    head = _fields(order.find(f"{CEB}OrderHead"))
    lines = [_fields(line) for line in order.iterfind(f"{CEB}OrderList")]
    transfer = _fields(root.find(f"{CEB}BaseTransfer"))
    return head, lines, transfer


def order_payload(**changes: Any) -> dict[str, Any]:
    head, lines, transfer = sample_order()
    payload: dict[str, Any] = {
        "messageType": "CEB311Message",
        "guid": "4CDE1CFD-EDED-46B1-946C-B8022E42FC94",
        "baseTransfer": {
            "copCode": transfer["copCode"],
            "copName": transfer["copName"],
            "dxpId": transfer["dxpId"],
        },
        "documents": [{"head": head, "lines": lines}],
    }
    payload.update(changes)
    return payload


def encoded(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def refusal(payload: bytes | Any) -> MessageFormatError:
    body = payload if isinstance(payload, bytes) else encoded(payload)
    with pytest.raises(MessageFormatError) as caught:
        jsonform.to_xml(body)
    return caught.value


def only_error(exc: MessageFormatError) -> FieldError:
    assert len(exc.errors) == 1, exc.errors
    return exc.errors[0]


# --- JSON becomes the CEB XML ---------------------------------------------------------------------


def test_a_json_order_from_the_official_sample_becomes_xml_that_passes_the_xsd():
    xml = jsonform.to_xml(encoded(order_payload()))
    assert validate_against_xsd(parse_untrusted(xml)) == "CEB311Message"


def test_the_xml_made_from_json_holds_exactly_the_sample_fields():
    head, lines, transfer = sample_order()
    root = parse_untrusted(jsonform.to_xml(encoded(order_payload())))
    message = extract(root, KINDS["CEB311Message"])
    assert message.guid == "4CDE1CFD-EDED-46B1-946C-B8022E42FC94"
    assert (message.sender_code, message.sender_name) == (transfer["copCode"], transfer["copName"])
    assert len(message.documents) == 1
    assert message.documents[0].head == head
    assert list(message.documents[0].lines) == lines


def test_the_xml_made_from_the_sample_order_also_meets_the_field_rules():
    root = parse_untrusted(jsonform.to_xml(encoded(order_payload())))
    validate_against_xsd(root)
    check_formats(extract(root, KINDS["CEB311Message"]))  # raises if a format rule is broken


def test_fields_are_written_in_xsd_order_whatever_their_order_in_json():
    payload = order_payload()
    document = payload["documents"][0]
    document["head"] = dict(reversed(list(document["head"].items())))
    document["lines"] = [dict(reversed(list(line.items()))) for line in document["lines"]]
    assert validate_against_xsd(parse_untrusted(jsonform.to_xml(encoded(payload))))


def test_a_message_without_guid_gets_a_fresh_upper_case_one():
    payload = order_payload()
    del payload["guid"]
    guid = parse_untrusted(jsonform.to_xml(encoded(payload))).get("guid")
    assert len(guid) == 36
    assert guid == guid.upper()


def test_a_kind_without_lines_is_sent_with_a_head_only():
    root = etree.fromstring(sample("import", "CEB411Message"))
    head = _fields(root.find(f"{CEB}Payment/{CEB}PaymentHead"))
    payload = {
        "messageType": "CEB411Message",
        "baseTransfer": {"copCode": "1105910159", "copName": "东方物通科技(北京)有限公司"},
        "documents": [{"head": head}],
    }
    xml_root = parse_untrusted(jsonform.to_xml(encoded(payload)))
    assert validate_against_xsd(xml_root) == "CEB411Message"
    assert extract(xml_root, KINDS["CEB411Message"]).documents[0].head == head


def test_a_document_shown_as_json_converts_back_to_the_same_document():
    head, lines, _transfer = sample_order()
    shown = jsonform.from_xml_document(KINDS["CEB311Message"], head, lines)
    assert list(shown) == ["head", "lines"]
    payload = order_payload(documents=[shown])
    message = extract(parse_untrusted(jsonform.to_xml(encoded(payload))), KINDS["CEB311Message"])
    assert message.documents[0].head == head
    assert list(message.documents[0].lines) == lines


def test_a_document_shown_as_json_keeps_the_xsd_field_order():
    head, lines, _transfer = sample_order()
    shown = jsonform.from_xml_document("CEB311Message", dict(reversed(list(head.items()))), lines)
    assert list(shown["head"]) == list(head)  # the sample is in XSD order


def test_a_document_of_a_kind_without_lines_is_shown_without_lines():
    assert jsonform.from_xml_document("CEB411Message", {"orderNo": "A1"}) == {
        "head": {"orderNo": "A1"}
    }


# --- what JSON itself can get wrong ---------------------------------------------------------------


def test_a_json_number_is_refused_with_its_path_and_rule():
    payload = order_payload()
    payload["documents"][0]["lines"][1]["qty"] = 200.5
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/lines/1/qty", "string-values")
    assert '"200.5"' in error.message


def test_a_personal_field_sent_as_a_number_is_masked_in_the_refusal():
    payload = order_payload()
    payload["documents"][0]["head"]["buyerIdNumber"] = 130681136250023332
    error = only_error(refusal(payload))
    assert error.rule == "string-values"
    assert error.value == "130" + "*" * 11 + "3332"


def test_null_is_refused_rather_than_read_as_absent():
    payload = order_payload()
    payload["documents"][0]["head"]["note"] = None
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/head/note", "string-values")


def test_an_unknown_field_is_refused_with_a_suggestion():
    payload = order_payload()
    head = payload["documents"][0]["head"]
    head["orderNO"] = head.pop("orderNo")
    errors = {(e.path, e.rule): e for e in refusal(payload).errors}
    unknown = errors["/documents/0/head/orderNO", "unknown-field"]
    assert "did you mean 'orderNo'" in unknown.message
    assert ("/documents/0/head/orderNo", "required") in errors


def test_a_misspelt_line_field_is_refused_with_a_suggestion():
    payload = order_payload()
    payload["documents"][0]["lines"][0]["itemDescription"] = "x"
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/lines/0/itemDescription", "unknown-field")
    assert "did you mean 'itemDescribe'" in error.message


def test_base_transfer_fields_json_cannot_carry_are_refused_with_the_reason():
    payload = order_payload()
    payload["baseTransfer"]["dxpMode"] = "DXP"
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/baseTransfer/dxpMode", "unknown-field")
    assert "always DXP" in error.message


def test_lines_are_refused_for_a_kind_that_has_none():
    payload = {
        "messageType": "CEB411Message",
        "baseTransfer": {"copCode": "1", "copName": "n"},
        "documents": [{"head": {}, "lines": []}],
    }
    errors = {(e.path, e.rule) for e in refusal(payload).errors}
    assert ("/documents/0/lines", "unknown-field") in errors


def test_an_unknown_message_type_is_refused_listing_the_accepted_ones():
    exc = refusal(order_payload(messageType="CEB312Message"))
    error = only_error(exc)
    assert exc.code == "0999"
    assert (error.path, error.rule) == ("/messageType", "accepted-message-types")
    assert "CEB311Message" in error.message
    assert "CEB411Message" in error.message


def test_more_than_100_documents_are_refused():
    payload = order_payload()
    payload["documents"] = payload["documents"] * 101
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents", "max-items")


def test_more_than_99_lines_are_refused():
    payload = order_payload()
    line = payload["documents"][0]["lines"][0]
    payload["documents"][0]["lines"] = [line] * 100
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/lines", "max-items")


def test_an_order_without_lines_is_refused():
    payload = order_payload()
    payload["documents"][0]["lines"] = []
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/lines", "min-items")


def test_wrong_containers_are_named():
    payload = order_payload(baseTransfer=["1"], documents={"head": {}})
    errors = {(e.path, e.rule) for e in refusal(payload).errors}
    assert errors == {("/baseTransfer", "object"), ("/documents", "array")}


def test_invalid_json_is_refused_with_line_and_column():
    exc = refusal(b'{\n  "messageType": "CEB311Message",\n  "documents": [1,]\n}')
    error = only_error(exc)
    assert exc.code == "0001"
    assert (error.rule, error.line) == ("json", 3)
    assert "line 3 column" in error.message


def test_a_duplicate_key_is_refused_with_its_path():
    body = encoded(order_payload()).replace(b'"orderNo": ', b'"orderNo": "x", "orderNo": ', 1)
    exc = refusal(body)
    error = only_error(exc)
    assert exc.code == "0001"
    assert (error.path, error.rule) == ("/documents/0/head/orderNo", "duplicate-key")


def test_a_body_that_is_not_utf8_is_refused():
    error = only_error(refusal(b'{"messageType": "\xff"}'))
    assert error.rule == "utf-8"


def test_deep_nesting_is_refused():
    error = only_error(refusal(b"[" * 100_000 + b"]" * 100_000))
    assert error.rule == "max-depth"


def test_a_body_over_the_cap_is_refused_before_parsing():
    with pytest.raises(MessageTooLarge):
        jsonform.to_xml(b" " * (MAX_BODY_BYTES + 1))


def test_a_character_xml_cannot_carry_is_refused():
    payload = order_payload()
    payload["documents"][0]["head"]["note"] = "a\u0000b"
    error = only_error(refusal(payload))
    assert (error.path, error.rule) == ("/documents/0/head/note", "xml-characters")


@pytest.mark.parametrize("message_type", ["CEB621Message", "CEB623Message", "CEB625Message"])
def test_a_kind_that_must_be_signed_is_refused_as_signature_required(message_type):
    exc = refusal(order_payload(messageType=message_type))
    error = only_error(exc)
    assert (error.path, error.rule) == ("/messageType", "signature-required")
    assert "signed XML" in error.message


def test_exactly_the_kinds_whose_xsd_requires_a_signature_cannot_be_json():
    needing = {t for t in KINDS if jsonform.signature_required(t)}
    assert needing == {"CEB621Message", "CEB623Message", "CEB625Message", "CEB711Message"}
    assert set(jsonform.json_message_types()) == set(KINDS) - needing


# --- later refusals in JSON terms -----------------------------------------------------------------


def test_an_xsd_refusal_of_the_xml_made_from_json_points_into_the_json():
    payload = order_payload()
    payload["documents"][0]["lines"][1]["qty"] = "many"
    xml = jsonform.to_xml(encoded(payload))
    with pytest.raises(MessageFormatError) as caught:
        validate_against_xsd(parse_untrusted(xml))
    translated = jsonform.in_json_terms(caught.value)
    error = only_error(translated)
    assert error.path == "/documents/0/lines/1/qty"
    assert error.line is None
    assert "{" not in error.message
    assert translated.code == caught.value.code


def test_a_field_rule_refusal_of_the_xml_made_from_json_points_into_the_json():
    payload = order_payload()
    payload["documents"][0]["lines"][1]["gnum"] = "3"
    root = parse_untrusted(jsonform.to_xml(encoded(payload)))
    validate_against_xsd(root)
    with pytest.raises(MessageFormatError) as caught:
        check_formats(extract(root, KINDS["CEB311Message"]))
    error = only_error(jsonform.in_json_terms(caught.value))
    assert (error.path, error.rule) == ("/documents/0/lines/1/gnum", "field:gnum-sequence")


@pytest.mark.parametrize(
    ("xml_path", "pointer"),
    [
        ("/ceb:CEB311Message/ceb:Order[2]/ceb:OrderList[3]/ceb:qty", "/documents/1/lines/2/qty"),
        ("/ceb:CEB311Message/ceb:Order/ceb:OrderHead/ceb:orderNo", "/documents/0/head/orderNo"),
        ("/ceb:CEB513Message/ceb:LogisticsStatus[4]/ceb:guid", "/documents/3/head/guid"),
        ("/ceb:CEB311Message/ceb:BaseTransfer/ceb:copCode", "/baseTransfer/copCode"),
        ("/ceb:CEB311Message/ds:Signature", None),
    ],
)
def test_xml_paths_map_to_json_pointers(xml_path, pointer):
    assert jsonform.json_pointer(xml_path) == pointer


# --- JSON Schema for the API docs -----------------------------------------------------------------


def test_the_ceb311_schema_requires_order_no_but_not_item_no():
    schema = jsonform.json_schema("CEB311Message")
    document = schema["properties"]["documents"]["items"]
    head = document["properties"]["head"]
    line = document["properties"]["lines"]["items"]
    assert "orderNo" in head["required"]
    assert "itemNo" in line["properties"]
    assert "itemNo" not in line["required"]
    assert line["properties"]["itemNo"]["type"] == "string"
    assert schema["properties"]["documents"]["maxItems"] == 100
    assert document["properties"]["lines"]["maxItems"] == 99


def test_the_schema_lists_fields_in_xsd_order():
    head, _lines, _transfer = sample_order()
    schema = jsonform.json_schema("CEB311Message")
    properties = schema["properties"]["documents"]["items"]["properties"]["head"]["properties"]
    assert list(properties) == list(head)  # the sample sends every OrderHead field, in order


def test_no_schema_is_offered_for_a_kind_that_must_be_signed():
    with pytest.raises(ValueError, match="signed XML"):
        jsonform.json_schema("CEB621Message")


def test_every_json_kind_has_a_schema_that_is_plain_json():
    for message_type in jsonform.json_message_types():
        schema = jsonform.json_schema(message_type)
        assert json.loads(json.dumps(schema)) == copy.deepcopy(schema)
