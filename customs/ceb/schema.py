"""The official 202205 XSDs: which schema a message belongs to, and validation with exact errors."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, cast

from lxml import etree

from customs.domain.errors import FieldError, MessageFormatError, UnsupportedMessage
from customs.domain.personal import shown

CEB_NS = "http://www.chinaport.gov.cn/ceb"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"ceb": CEB_NS, "ds": DS_NS, "dxp": DXP_NS}

_XSD_FILES = {"import": "import.xsd", "export": "export.xsd", "terminal": "terminal.xsd"}


@cache
def schema_for(name: str) -> etree.XMLSchema:
    # The official XSDs are trusted files shipped with the package (xmldsig-core needs its DTD).
    path = resources.files("customs.ceb") / "xsd" / _XSD_FILES[name]
    with resources.as_file(path) as file:
        return etree.XMLSchema(etree.parse(str(file)))


@cache
def _global_messages() -> dict[str, str]:
    """Root element name (CEB311Message...) to the XSD that declares it."""
    found: dict[str, str] = {}
    for name, filename in _XSD_FILES.items():
        path = resources.files("customs.ceb") / "xsd" / filename
        tree = etree.fromstring(path.read_bytes())
        for element in tree.iterfind("{http://www.w3.org/2001/XMLSchema}element"):
            element_name = element.get("name", "")
            if element_name.startswith("CEB") or name == "terminal":
                found.setdefault(element_name, name)
    return found


def source_line(element: etree._Element) -> int | None:
    """The line an element starts on in the received body, when known."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def message_type_of(root: etree._Element) -> str:
    """The CEB message type of a parsed document, e.g. `CEB311Message`."""
    qname = etree.QName(root)
    if qname.namespace != CEB_NS or qname.localname not in _global_messages():
        raise UnsupportedMessage(
            code="0002",
            title="Not a CEB message",
            errors=(
                FieldError(
                    path=f"/{root.tag}",
                    rule="root-element",
                    line=source_line(root),
                    message="the root element must be a CEBxxxMessage in the namespace " + CEB_NS,
                    value=str(qname.localname),
                ),
            ),
        )
    return str(qname.localname)


def check_schema(root: etree._Element, schema_name: str, *, title: str) -> None:
    """Validate `root` against one official XSD; MessageFormatError 0002 naming every breach."""
    schema = schema_for(schema_name)
    if schema.validate(root):
        return
    errors = tuple(
        FieldError(
            path=str(entry.path),
            rule=f"xsd:{entry.type_name}",
            line=entry.line,
            message=str(entry.message),
            value=_value_at(root, str(entry.path)),
        )
        for entry in cast(Iterable[Any], schema.error_log)
    )
    raise MessageFormatError(code="0002", title=title, errors=errors)


def validate_against_xsd(root: etree._Element) -> str:
    """Validate against the official XSD declaring the root; returns the message type."""
    message_type = message_type_of(root)
    check_schema(root, _global_messages()[message_type], title="Message fails the official XSD")
    return message_type


def _value_at(root: etree._Element, path: str) -> str | None:
    """The text of a leaf element an XSD error points at (personal data masked)."""
    try:
        found = root.xpath(path, namespaces=NSMAP)
    except etree.XPathError:
        return None
    if not isinstance(found, list) or len(found) != 1 or not isinstance(found[0], etree._Element):
        return None
    element = found[0]
    if len(element) or element.text is None:
        return None
    return shown(etree.QName(element).localname, element.text[:200])


def warm_up() -> None:
    """Load the schemas now rather than on the first request."""
    for name in _XSD_FILES:
        schema_for(name)
    _global_messages()
