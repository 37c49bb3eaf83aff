"""Rendering receipts (CEB312, CEB412, ... CEB702) as the official XML, in the XSD's field order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

from lxml import etree

from customs.ceb.documents import DocumentKind
from customs.ceb.schema import CEB_NS, schema_for

_XS = "{http://www.w3.org/2001/XMLSchema}"
_RECEIPT_VALUES = ("guid", "returnStatus", "returnTime", "returnInfo")


@dataclass(frozen=True, slots=True)
class ReceiptField:
    """One element of a receipt entity, as the XSD orders it."""

    name: str
    optional: bool


@cache
def receipt_fields(direction: str, element: str) -> tuple[ReceiptField, ...]:
    """The fields of a receipt element (e.g. OrderReturn) read from the official XSD."""
    path = resources.files("customs.ceb") / "xsd" / f"{direction}.xsd"
    schema = etree.fromstring(path.read_bytes())
    declaration = schema.find(f"{_XS}element[@name='{element}']")
    if declaration is None:
        raise KeyError(f"{element} is not declared in the {direction} XSD")
    return tuple(
        ReceiptField(child.get("name", ""), child.get("minOccurs") == "0")
        for child in declaration.iterfind(f"{_XS}complexType/{_XS}sequence/{_XS}element")
    )


@cache
def receipt_keys(kind: DocumentKind) -> tuple[str, ...]:
    """The document's own fields a receipt of `kind` repeats (ebpCode, orderNo, preNo...)."""
    return tuple(
        f.name
        for f in receipt_fields(kind.direction, kind.receipt_element)
        if f.name not in _RECEIPT_VALUES
    )


def render_receipt(
    kind: DocumentKind,
    *,
    guid: str,
    values: Mapping[str, str],
    return_status: int,
    return_time: str,
    return_info: str,
) -> bytes:
    """One receipt message for one document; optional fields without a value are left out."""
    ceb = f"{{{CEB_NS}}}"
    root = etree.Element(ceb + kind.receipt_message, nsmap={"ceb": CEB_NS})
    root.set("guid", guid)
    root.set("version", "1.0")
    entity = etree.SubElement(root, ceb + kind.receipt_element)
    own = {
        "guid": guid,
        "returnStatus": str(return_status),
        "returnTime": return_time,
        "returnInfo": return_info,
    }
    fields = receipt_fields(kind.direction, kind.receipt_element)
    for field in fields:
        value = own.get(field.name, values.get(field.name))
        if value is None or (value == "" and field.optional):
            if field.optional:
                continue
            value = ""
        etree.SubElement(entity, ceb + field.name).text = value
    _drop_invalid_optional_fields(kind, root, entity, {f.name for f in fields if f.optional})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _drop_invalid_optional_fields(
    kind: DocumentKind, root: etree._Element, entity: etree._Element, optional: set[str]
) -> None:
    """A receipt is always XSD-valid: an optional value the sender gave in a form the receipt
    does not allow (e.g. a 17-character invtNo) is left out rather than echoed."""
    schema = schema_for(kind.direction)
    if schema.validate(root):
        return
    bad = {str(e.path).rsplit("/ceb:", 1)[-1] for e in cast(Iterable[Any], schema.error_log)}
    for child in list(entity):
        name = etree.QName(child).localname
        if name in bad and name in optional:
            entity.remove(child)
    if not schema.validate(root):
        raise ValueError(f"receipt {kind.receipt_message} is not XSD-valid: {schema.error_log}")
