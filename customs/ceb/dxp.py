"""The DXP terminal envelope `dxp:DxpMsg`: unwrap the Base64 business message, or wrap one.

Enterprises that build their own client send the business message (`CEBxxxMessage`) inside a
terminal-node envelope (dossier §1.1, §1.9; the official `terminal.xsd`):

    <dxp:DxpMsg ver="1.0" xmlns:dxp="http://www.chinaport.gov.cn/dxp">
      <dxp:TransInfo>CopMsgId, SenderId, ReceiverIds/ReceiverId (1..5), CreatTime, MsgType
      </dxp:TransInfo>
      <dxp:Data>Base64 of the business XML</dxp:Data>
      <dxp:AddInfo>optional</dxp:AddInfo>
      <ds:Signature>optional</ds:Signature>
    </dxp:DxpMsg>

`unwrap` checks the envelope against `terminal.xsd`, decodes `Data` strictly, and parses the
business XML with `parse_untrusted`, so the inner document meets exactly the same safety rules
(size, no DTD or entities, depth) as a body posted on its own. Errors found inside `Data` carry
paths starting with `/dxp:DxpMsg/dxp:Data`; their line numbers count lines of the decoded
business XML. The outer body is capped at `MAX_BODY_BYTES` before it is parsed, and Base64 grows
data by a third, so a business message sent inside a DxpMsg can be at most about 3/4 of that.

Signatures: the envelope's own optional `ds:Signature` (the transport layer's) is NOT verified
here. What customs checks is the business message's enveloped signature, which travels inside
`Data` byte for byte and is verified on the unwrapped root like any directly posted message.

The transmission-node envelope `dxp:DxpMsgSv` (third-party relays) is not handled.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from lxml import etree

from customs.ceb.parsing import MAX_BODY_BYTES, parse_untrusted, too_large
from customs.ceb.schema import DS_NS, DXP_NS, NSMAP, check_schema, schema_for, source_line
from customs.domain.errors import (
    FieldError,
    MessageFormatError,
    UnsupportedMessage,
)
from customs.timefmt import china_time

CUSTOMS_DXP_ID = "DXPEDCCEB0000002"
"""The DXP id customs receives on (and sends receipts from)."""

DATA_PATH = "/dxp:DxpMsg/dxp:Data"
MSG_TYPE_PATH = "/dxp:DxpMsg/dxp:TransInfo/dxp:MsgType"

_DXP_MSG = f"{{{DXP_NS}}}DxpMsg"
_TRANS_INFO = f"{{{DXP_NS}}}TransInfo"
_DATA = f"{{{DXP_NS}}}Data"
_SIGNATURE = f"{{{DS_NS}}}Signature"
_XML_WHITESPACE = str.maketrans("", "", " \t\r\n")  # what xs:base64Binary may carry, no more


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """A business message taken out of a valid `dxp:DxpMsg`, with the envelope's TransInfo.

    `root` is the parsed business message (read values from it, not from another parse of
    `body`); `body` the exact decoded bytes of `Data`. `create_time` is `CreatTime` as sent
    (an xs:dateTime, possibly without a time zone). `envelope_signed` says the envelope carried
    its own ds:Signature, which is not verified (see the module docstring).
    """

    root: etree._Element
    body: bytes
    cop_msg_id: str
    sender_id: str
    receiver_ids: tuple[str, ...]
    create_time: str
    msg_type: str
    envelope_signed: bool = False


def is_dxp(root: etree._Element) -> bool:
    """Whether a parsed document is a DXP terminal envelope (`dxp:DxpMsg`)."""
    return root.tag == _DXP_MSG


def unwrap(root: etree._Element) -> Unwrapped:
    """The business message inside a `dxp:DxpMsg`; any problem raises `MessageFormatError`.

    Order of checks: the root element (0002 `root-element`), the Base64 of `Data` (0001
    `base64`), the terminal XSD (0002 `xsd:...`), the decoded size (0001 `max-body-size`), the
    business XML itself with `parse_untrusted`'s rules (0001, paths under `Data`), and finally
    that `MsgType` names the business message's root element (0002 `msg-type`).
    """
    if not is_dxp(root):
        raise UnsupportedMessage(
            code="0002",
            title="Not a DXP terminal message",
            errors=(
                FieldError(
                    path=f"/{root.tag}",
                    rule="root-element",
                    line=source_line(root),
                    message=f"the root element must be DxpMsg in the namespace {DXP_NS}",
                ),
            ),
        )
    data = root.find(_DATA)
    body = _decoded(data) if data is not None and len(data) == 0 else None
    _validate_envelope(root)
    assert data is not None and body is not None  # the XSD requires Data, with simple content
    if len(body) > MAX_BODY_BYTES:
        raise too_large(len(body), path=DATA_PATH, line=source_line(data), what="Data decodes to")
    with inside_data():
        inner = parse_untrusted(body)
    trans_info = root.find(_TRANS_INFO)
    assert trans_info is not None
    msg_type = _text(trans_info, "MsgType")
    inner_name = str(etree.QName(inner).localname)
    if msg_type != inner_name:
        message_type = trans_info.find(f"{{{DXP_NS}}}MsgType")
        raise MessageFormatError(
            code="0002",
            title="MsgType does not match the message in Data",
            errors=(
                FieldError(
                    path=MSG_TYPE_PATH,
                    rule="msg-type",
                    line=source_line(message_type) if message_type is not None else None,
                    message=f"MsgType says {msg_type!r} but Data holds a {inner_name}",
                    value=msg_type,
                ),
            ),
        )
    return Unwrapped(
        root=inner,
        body=body,
        cop_msg_id=_text(trans_info, "CopMsgId"),
        sender_id=_text(trans_info, "SenderId"),
        receiver_ids=tuple(
            (element.text or "").strip()
            for element in trans_info.iterfind("dxp:ReceiverIds/dxp:ReceiverId", NSMAP)
        ),
        create_time=_text(trans_info, "CreatTime"),
        msg_type=msg_type,
        envelope_signed=root.find(_SIGNATURE) is not None,
    )


@contextmanager
def inside_data() -> Iterator[None]:
    """Re-raise a `MessageFormatError` about the business message as one inside `Data`.

    The error keeps its class and code; each path gets the `/dxp:DxpMsg/dxp:Data` prefix (a path
    of `/` becomes the prefix itself). Wrap any check of an unwrapped message in it, e.g. the
    XSD check, so the sender sees that the problem is in the Base64 data; not `unwrap` itself,
    whose envelope errors already carry their own `/dxp:DxpMsg/...` paths.
    """
    try:
        yield
    except MessageFormatError as exc:
        if exc.errors and all(error.path.startswith(DATA_PATH) for error in exc.errors):
            raise  # said so already
        errors = tuple(
            FieldError(
                path=_prefixed(error.path),
                rule=error.rule,
                message=error.message,
                line=error.line,
                value=error.value,
            )
            for error in exc.errors
        )
        raise type(exc)(code=exc.code, title=f"{exc.title} (inside Data)", errors=errors) from exc


def wrap(
    business_xml: bytes,
    *,
    sender_id: str,
    receiver_id: str = CUSTOMS_DXP_ID,
    msg_type: str,
    cop_msg_id: str | None = None,
) -> bytes:
    """A `dxp:DxpMsg` (ver 1.0) carrying `business_xml` as is, UTF-8 with an XML declaration.

    `CopMsgId` defaults to a fresh UUID and `CreatTime` is now, in China time. The business XML
    is not parsed or checked (so tests can wrap bad messages); the envelope is checked against
    `terminal.xsd`, and a value it refuses (e.g. a SenderId over 16 characters) raises
    ValueError.
    """

    def child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{DXP_NS}}}{name}")
        element.text = text
        return element

    root = etree.Element(_DXP_MSG, nsmap={"dxp": DXP_NS})
    root.set("ver", "1.0")
    trans_info = child(root, "TransInfo")
    child(trans_info, "CopMsgId", cop_msg_id if cop_msg_id is not None else str(uuid.uuid4()))
    child(trans_info, "SenderId", sender_id)
    child(child(trans_info, "ReceiverIds"), "ReceiverId", receiver_id)
    child(trans_info, "CreatTime", china_time(datetime.now(UTC)).isoformat(timespec="seconds"))
    child(trans_info, "MsgType", msg_type)
    child(root, "Data", base64.b64encode(business_xml).decode("ascii"))
    schema = schema_for("terminal")
    if not schema.validate(root):
        problems = "; ".join(
            f"{entry.path}: {entry.message}" for entry in cast(Iterable[Any], schema.error_log)
        )
        raise ValueError(f"the DxpMsg would not be valid against terminal.xsd: {problems}")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


# --- helpers ----------------------------------------------------------------------------------


def _decoded(data: etree._Element) -> bytes:
    """Strict Base64: the alphabet and padding only, XML whitespace (line breaks) ignored."""
    text = (data.text or "").translate(_XML_WHITESPACE)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        raise MessageFormatError(
            code="0001",
            title="Data is not valid Base64",
            errors=(
                FieldError(
                    path=DATA_PATH,
                    rule="base64",
                    line=source_line(data),
                    message="Data must hold the business XML in Base64 (RFC 4648 alphabet and"
                    " padding; only XML whitespace may separate the characters)",
                ),
            ),
        ) from None


def _validate_envelope(root: etree._Element) -> None:
    check_schema(root, "terminal", title="DXP envelope fails the official terminal XSD")


def _text(trans_info: etree._Element, name: str) -> str:
    element = trans_info.find(f"{{{DXP_NS}}}{name}")
    return (element.text or "").strip() if element is not None else ""


def _prefixed(path: str) -> str:
    return (
        DATA_PATH
        if path in ("", "/")
        else DATA_PATH + (path if path.startswith("/") else "/" + path)
    )
