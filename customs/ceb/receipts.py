"""Rendering receipts (CEB312...) as the official XML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from customs.ceb.documents import DocumentKind
from customs.ceb.schema import CEB_NS


def render_receipts(kind: DocumentKind, guid: str, receipts: Sequence[Mapping[str, str]]) -> bytes:
    """A receipt message (e.g. CEB312Message) holding one return element per receipt.

    Each receipt maps the receipt element's fields: guid, the business keys, returnStatus,
    returnTime and returnInfo, in the XSD's order.
    """
    ceb = f"{{{CEB_NS}}}"
    root = etree.Element(ceb + kind.receipt_message, nsmap={"ceb": CEB_NS})
    root.set("guid", guid)
    root.set("version", "1.0")
    order = ("guid", *kind.receipt_keys, "returnStatus", "returnTime", "returnInfo")
    for receipt in receipts:
        element = etree.SubElement(root, ceb + kind.receipt_element)
        for name in order:
            etree.SubElement(element, ceb + name).text = receipt[name]
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
