"""Reading a document's fields: leaf children by local name, as sent, whatever the prefix."""

from __future__ import annotations

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
