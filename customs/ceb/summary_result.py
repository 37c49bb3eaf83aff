"""Rendering an export summary result as the official CEB792Message, in the XSD's field order."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Protocol

from lxml import etree

from customs.ceb.schema import CEB_NS, schema_for
from customs.ceb.writer import field_order

MESSAGE_TYPE = "CEB792Message"


class StoredSummaryResult(Protocol):
    """A stored summary result (customs.db.SummaryResult): its id and, per customs declaration
    of the application part, its fields as JSON."""

    @property
    def id(self) -> str: ...

    @property
    def results(self) -> Sequence[tuple[str, str]]:
        """(SummaryResultHead element name -> text, a list of SummaryResultList element name ->
        text, one per line), one pair per declaration."""
        ...


def _fill(parent: etree._Element, element: str, values: Mapping[str, object]) -> None:
    order = field_order("export", element)
    unknown = set(values) - set(order)
    if unknown:
        raise ValueError(f"{element} has no field(s) {sorted(unknown)}")
    node = etree.SubElement(parent, f"{{{CEB_NS}}}{element}")
    for name in order:
        value = values.get(name)
        if value is not None and value != "":
            etree.SubElement(node, f"{{{CEB_NS}}}{name}").text = str(value)


def render_summary_result(result: StoredSummaryResult) -> bytes:
    """The CEB792Message for one summary result: per customs declaration a SummaryResult, its
    head and one list entry per summarised inventory line. The message guid is the result's id,
    so the same result renders the same bytes every time. Raises ValueError rather than return
    a message the XSD refuses."""
    root = etree.Element(f"{{{CEB_NS}}}{MESSAGE_TYPE}", nsmap={"ceb": CEB_NS})
    root.set("guid", result.id.upper())
    root.set("version", "1.0")
    for head, lines in result.results:
        entity = etree.SubElement(root, f"{{{CEB_NS}}}SummaryResult")
        _fill(entity, "SummaryResultHead", json.loads(head))
        for line in json.loads(lines):
            _fill(entity, "SummaryResultList", line)
    schema = schema_for("export")
    if not schema.validate(root):
        raise ValueError(f"{MESSAGE_TYPE} is not XSD-valid: {schema.error_log}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
