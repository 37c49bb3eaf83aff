"""Every official sample is parsed; the valid ones round-trip to the same canonical XML."""

from __future__ import annotations

import pytest
from lxml import etree

from customs.ceb.documents import KINDS, extract, kind_of
from customs.ceb.parsing import parse_untrusted
from customs.ceb.schema import CEB_NS, validate_against_xsd
from customs.ceb.writer import Sender, write_message
from customs.domain.errors import MessageFormatError
from tests.support import SAMPLES, unsigned

# Official export samples that break the official XSD, and why (what customs answers).
INVALID = {
    "CEB303Message": "BaseTransfer",
    "CEB403Message": "BaseTransfer",
    "CEB505Message": "BaseTransfer",
    "CEB507Message": "BaseTransfer",
    "CEB509Message": "BaseTransfer",
    "CEB603Message": "BaseTransfer",
    "CEB605Message": "BaseTransfer",
    "CEB607Message": "BaseTransfer",
    "CEB792Message": "gnum",
    "CEB214Message": "CEB214",  # the root is CEB214, not CEB214Message
}


VALID_DATA_SAMPLES = sorted(
    p for p in SAMPLES.glob("*/*.xml") if p.stem in KINDS and p.stem not in INVALID
)


def _canonical(root: etree._Element) -> bytes:
    for element in root.iter():
        if len(element):
            element.text = None
        element.tail = None
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize("path", VALID_DATA_SAMPLES, ids=lambda p: p.stem)
def test_a_valid_official_sample_round_trips_to_the_same_canonical_xml(path):
    published = parse_untrusted(path.read_bytes())
    message_type = validate_against_xsd(published)
    original = parse_untrusted(unsigned(path.read_bytes()))
    message = extract(original, kind_of(message_type, original))
    transfer = {
        etree.QName(e).localname: e.text or "" for e in original.find(f"{{{CEB_NS}}}BaseTransfer")
    }
    if (
        original.find(f"{{{CEB_NS}}}BaseSubscribe") is not None
        or original.find(f"{{{CEB_NS}}}ExtendMessage") is not None
    ):
        pytest.skip("carries BaseSubscribe/ExtendMessage, which the writer does not produce")
    rewritten = write_message(
        message_type,
        [(doc.head, doc.lines) for doc in message.documents],
        Sender(transfer["copCode"], transfer["copName"], transfer["dxpId"], transfer.get("note")),
        guid=original.get("guid"),
    )
    assert _canonical(etree.fromstring(rewritten)) == _canonical(original)


@pytest.mark.parametrize("name", sorted(INVALID), ids=lambda n: n)
def test_an_official_sample_that_breaks_the_xsd_is_refused_with_the_exact_reason(name):
    path = next(SAMPLES.glob(f"*/{name}.xml"))
    with pytest.raises(MessageFormatError) as refused:
        validate_against_xsd(parse_untrusted(path.read_bytes()))
    first = refused.value.errors[0]
    assert INVALID[name] in first.path + first.message
    assert first.line is not None or first.rule == "root-element"
