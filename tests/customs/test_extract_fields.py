"""Reading a document's fields: leaf children by local name, as sent, whatever the prefix."""

from __future__ import annotations

from importlib import resources

from lxml import etree

from customs.ceb import documents
from customs.ceb.documents import _fields
from customs.ceb.parsing import parse_untrusted

_HEAD = (
    b'<h xmlns="http://www.chinaport.gov.cn/ceb" xmlns:x="urn:other">'
    b"<orderNo>A&amp;B &lt;1&gt;</orderNo><note/><lines><gnum>1</gnum></lines>"
    b"<x:extra>kept</x:extra><empty></empty></h>"
)


def test_leaf_children_by_local_name_and_containers_left_out():
    fields = _fields(parse_untrusted(_HEAD))
    assert fields == {"orderNo": "A&B <1>", "note": "", "extra": "kept", "empty": ""}
    assert list(fields) == ["orderNo", "note", "extra", "empty"]  # in the document's order


def test_the_names_remembered_give_the_same_fields_again():
    first = _fields(parse_untrusted(_HEAD))
    assert "{urn:other}extra" in documents._LOCAL_NAMES
    assert _fields(parse_untrusted(_HEAD)) == first


def test_a_prefixed_ceb_message_reads_the_same_as_a_default_namespaced_one():
    prefixed = (
        b'<ceb:h xmlns:ceb="http://www.chinaport.gov.cn/ceb" xmlns:x="urn:other">'
        b"<ceb:orderNo>A&amp;B &lt;1&gt;</ceb:orderNo><ceb:note/>"
        b"<ceb:lines><ceb:gnum>1</ceb:gnum></ceb:lines>"
        b"<x:extra>kept</x:extra><ceb:empty></ceb:empty></ceb:h>"
    )
    assert _fields(parse_untrusted(prefixed)) == _fields(parse_untrusted(_HEAD))


_XS = "{http://www.w3.org/2001/XMLSchema}"


def _simple_children_only(schema: etree._Element, name: str) -> bool:
    """Whether the XSD's global element `name` holds only simple elements: none with a complex
    type of its own, a named complex type or a reference to a global complex element."""
    (declared,) = schema.findall(f"{_XS}element[@name='{name}']")
    complex_types = {t.get("name") for t in schema.iter(f"{_XS}complexType") if t.get("name")}
    complex_elements = {
        e.get("name")
        for e in schema.findall(f"{_XS}element")
        if e.find(f"{_XS}complexType") is not None
    }
    children = declared.find(f"{_XS}complexType").iter(f"{_XS}element")
    return all(
        child.find(f"{_XS}complexType") is None
        and (child.get("type") or "").split(":")[-1] not in complex_types
        and (child.get("ref") or "").split(":")[-1] not in complex_elements
        for child in children
    )


def test_the_heads_lines_and_transfer_read_as_leaves_hold_only_simple_fields_in_the_xsds():
    """`extract` reads a head's, a line's and BaseTransfer's children without asking each for
    children of its own (`_fields(..., leaves=True)`): the official XSDs allow none there."""
    wanted = {"BaseTransfer"}
    wanted |= {kind.head for kind in documents.KINDS.values() if kind.head is not None}
    wanted |= {kind.lines for kind in documents.KINDS.values() if kind.lines is not None}
    found: set[str] = set()
    for xsd in ("import.xsd", "export.xsd"):
        schema = etree.parse(str(resources.files("customs.ceb") / "xsd" / xsd)).getroot()
        declared = {e.get("name") for e in schema.findall(f"{_XS}element")}
        for name in wanted & declared:
            assert _simple_children_only(schema, name), (xsd, name)
            found.add(name)
        # the check can fail: a message's root holds its documents
        assert not _simple_children_only(
            schema, sorted(n for n in declared if n.endswith("Message"))[0]
        )
    assert found == wanted
