"""The DXP terminal envelope: a business message wrapped in Base64 and unwrapped safely."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from customs.ceb import dxp
from customs.ceb.parsing import MAX_BODY_BYTES, parse_untrusted
from customs.ceb.schema import CEB_NS, DS_NS, DXP_NS, schema_for, validate_against_xsd
from customs.domain.errors import MessageFormatError, MessageTooLarge, UnsupportedMessage
from tests.support import SAMPLES

pytestmark = pytest.mark.filterwarnings("error")

SAMPLE_311 = SAMPLES / "import" / "CEB311Message.xml"
SENDER = "DXPENT0000000001"
DXP = f"{{{DXP_NS}}}"


def wrapped(body: bytes, msg_type: str = "CEB311Message", **kwargs: str) -> etree._Element:
    return parse_untrusted(dxp.wrap(body, sender_id=SENDER, msg_type=msg_type, **kwargs))


def envelope_with_data(data: str) -> etree._Element:
    root = wrapped(SAMPLE_311.read_bytes())
    root.find(f"{DXP}Data").text = data
    return root


def refusal(root: etree._Element) -> MessageFormatError:
    with pytest.raises(MessageFormatError) as caught:
        dxp.unwrap(root)
    return caught.value


def test_a_wrapped_official_sample_unwraps_to_the_same_bytes_and_root():
    body = SAMPLE_311.read_bytes()

    unwrapped = dxp.unwrap(wrapped(body, cop_msg_id="order-42"))

    assert unwrapped.body == body
    assert unwrapped.root.tag == f"{{{CEB_NS}}}CEB311Message"
    assert validate_against_xsd(unwrapped.root) == "CEB311Message"
    assert unwrapped.msg_type == "CEB311Message"
    assert unwrapped.cop_msg_id == "order-42"
    assert unwrapped.sender_id == SENDER
    assert unwrapped.receiver_ids == (dxp.CUSTOMS_DXP_ID,)
    assert unwrapped.create_time.endswith("+08:00")
    assert unwrapped.envelope_signed is False


def test_wrap_writes_a_utf8_envelope_valid_against_the_terminal_xsd():
    envelope = dxp.wrap(SAMPLE_311.read_bytes(), sender_id=SENDER, msg_type="CEB311Message")

    assert envelope.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = parse_untrusted(envelope)
    assert dxp.is_dxp(root)
    assert root.get("ver") == "1.0"
    assert schema_for("terminal").validate(root)


def test_wrap_refuses_a_sender_id_the_terminal_xsd_does_not_allow():
    with pytest.raises(ValueError, match="SenderId"):
        dxp.wrap(b"<x/>", sender_id="S" * 17, msg_type="x")


def test_a_business_message_is_not_a_dxp_envelope_and_is_not_unwrapped():
    sample = parse_untrusted(SAMPLE_311.read_bytes())

    assert not dxp.is_dxp(sample)
    with pytest.raises(UnsupportedMessage) as caught:
        dxp.unwrap(sample)
    assert caught.value.errors[0].rule == "root-element"


def test_line_wrapped_base64_is_accepted_as_xml_whitespace():
    body = SAMPLE_311.read_bytes()
    encoded = base64.encodebytes(body).decode("ascii").replace("\n", "\r\n")

    assert dxp.unwrap(envelope_with_data(encoded)).body == body


def test_an_envelope_failing_the_terminal_xsd_is_refused_with_the_path_of_the_fault():
    root = wrapped(SAMPLE_311.read_bytes())
    root.find(f"{DXP}TransInfo/{DXP}SenderId").text = "TOO-LONG-SENDER-ID-0001"

    error = refusal(root)

    assert error.code == "0002"
    (field,) = error.errors
    assert field.path == "/dxp:DxpMsg/dxp:TransInfo/dxp:SenderId"
    assert field.rule.startswith("xsd:")
    assert field.line is not None
    assert field.value == "TOO-LONG-SENDER-ID-0001"


def test_an_envelope_without_data_fails_the_terminal_xsd():
    root = wrapped(SAMPLE_311.read_bytes())
    root.remove(root.find(f"{DXP}Data"))

    error = refusal(root)

    assert error.code == "0002"
    assert error.errors[0].rule.startswith("xsd:")


def test_data_that_is_not_base64_is_a_format_error_naming_data():
    error = refusal(envelope_with_data("PD94bWwg*not base64*"))

    assert error.code == "0001"
    (field,) = error.errors
    assert (field.path, field.rule) == ("/dxp:DxpMsg/dxp:Data", "base64")


def test_base64_with_wrong_padding_is_refused_rather_than_guessed():
    error = refusal(envelope_with_data("PHg+"[:3]))

    assert (error.code, error.errors[0].rule) == ("0001", "base64")


def test_a_msg_type_other_than_the_inner_root_is_refused():
    error = refusal(wrapped(SAMPLE_311.read_bytes(), msg_type="CEB621Message"))

    assert error.code == "0002"
    (field,) = error.errors
    assert (field.path, field.rule) == ("/dxp:DxpMsg/dxp:TransInfo/dxp:MsgType", "msg-type")
    assert field.value == "CEB621Message"
    assert "CEB311Message" in field.message


def test_a_doctype_inside_the_base64_data_is_refused_as_inside_data():
    hostile = (
        b'<?xml version="1.0"?>\n<!DOCTYPE ceb:CEB311Message [<!ENTITY x "y">]>\n'
        b'<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb">&x;</ceb:CEB311Message>'
    )

    error = refusal(wrapped(hostile))

    assert error.code == "0001"
    (field,) = error.errors
    assert (field.path, field.rule) == ("/dxp:DxpMsg/dxp:Data", "no-dtd")
    assert "inside Data" in error.title


def test_malformed_xml_inside_data_is_reported_inside_data():
    error = refusal(wrapped(b"<ceb:CEB311Message>"))

    assert error.code == "0001"
    assert error.errors[0].path == "/dxp:DxpMsg/dxp:Data"
    assert error.errors[0].rule == "well-formed"


def test_data_decoding_to_more_than_the_size_cap_is_refused_as_too_large():
    body = b" " * (MAX_BODY_BYTES + 1)
    root = envelope_with_data(base64.b64encode(body).decode("ascii"))

    with pytest.raises(MessageTooLarge) as caught:
        dxp.unwrap(root)

    assert caught.value.errors[0].path == "/dxp:DxpMsg/dxp:Data"
    assert caught.value.errors[0].rule == "max-body-size"


def test_inside_data_prefixes_paths_of_later_checks_and_keeps_the_error_class():
    inner = parse_untrusted(b'<ceb:CEB999Message xmlns:ceb="http://www.chinaport.gov.cn/ceb"/>')

    with pytest.raises(UnsupportedMessage) as caught, dxp.inside_data():
        validate_against_xsd(inner)

    assert caught.value.code == "0002"
    assert caught.value.errors[0].path.startswith("/dxp:DxpMsg/dxp:Data/")


def test_an_envelope_signature_is_reported_but_not_verified():
    root = wrapped(SAMPLE_311.read_bytes())
    sample_621 = parse_untrusted((SAMPLES / "import" / "CEB621Message.xml").read_bytes())
    root.append(sample_621.find(f"{{{DS_NS}}}Signature"))  # the sample's placeholder: invalid
    assert schema_for("terminal").validate(root)

    unwrapped = dxp.unwrap(root)

    assert unwrapped.envelope_signed is True
    assert unwrapped.body == SAMPLE_311.read_bytes()
