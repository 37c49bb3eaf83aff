"""Writing CEB data messages from field values, in each XSD's exact element order."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from lxml import etree

from customs.ceb.documents import KINDS, DocumentKind
from customs.ceb.schema import CEB_NS

_XS = "{http://www.w3.org/2001/XMLSchema}"


@cache
def _declarations(direction: str) -> dict[str, etree._Element]:
    path = resources.files("customs.ceb") / "xsd" / f"{direction}.xsd"
    schema = etree.fromstring(path.read_bytes())
    return {e.get("name", ""): e for e in schema.iterfind(f"{_XS}element")}


@cache
def field_order(direction: str, element: str) -> tuple[str, ...]:
    """The child element names of a global XSD element (e.g. OrderHead), in sequence order."""
    declaration = _declarations(direction)[element]
    return tuple(
        child.get("name", "")
        for child in declaration.iterfind(f"{_XS}complexType/{_XS}sequence/{_XS}element")
    )


@dataclass(frozen=True, slots=True)
class Sender:
    """The BaseTransfer of a message: who transmits it."""

    cop_code: str
    cop_name: str
    dxp_id: str = "DXPENT0000000001"
    note: str | None = None


def _fill(parent: etree._Element, direction: str, element: str, values: Mapping[str, str]) -> None:
    ceb = f"{{{CEB_NS}}}"
    node = etree.SubElement(parent, ceb + element)
    unknown = set(values) - set(field_order(direction, element))
    if unknown:
        raise ValueError(f"{element} has no field(s) {sorted(unknown)}")
    for name in field_order(direction, element):
        if name in values and values[name] is not None:
            etree.SubElement(node, ceb + name).text = values[name]


def write_message(
    message_type: str,
    documents: Sequence[tuple[Mapping[str, str], Sequence[Mapping[str, str]]]],
    sender: Sender,
    *,
    guid: str | None = None,
) -> bytes:
    """A CEB data message holding `documents` as (head fields, line fields), unsigned."""
    kind: DocumentKind = KINDS[message_type]
    ceb = f"{{{CEB_NS}}}"
    root = etree.Element(ceb + message_type, nsmap={"ceb": CEB_NS})
    root.set("guid", guid or str(uuid.uuid4()).upper())
    root.set("version", "1.0")
    for head, lines in documents:
        if kind.head is None:
            _fill(root, kind.direction, kind.body, head)
            continue
        body = etree.SubElement(root, ceb + kind.body)
        _fill(body, kind.direction, kind.head, head)
        for line in lines:
            assert kind.lines is not None
            _fill(body, kind.direction, kind.lines, line)
    _fill(
        root,
        kind.direction,
        "BaseTransfer",
        {
            "copCode": sender.cop_code,
            "copName": sender.cop_name,
            "dxpMode": "DXP",
            "dxpId": sender.dxp_id,
            **({"note": sender.note} if sender.note is not None else {}),
        },
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
