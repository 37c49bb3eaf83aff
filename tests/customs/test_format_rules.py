"""The format rules checked on arrival (`validation.check_formats`) run only the single-field
checks (`field_rules.field_errors`): they must report exactly what the four full checks report,
in the same order, once the rules relating several fields are left out."""

from __future__ import annotations

import random

import pytest

from clearway import traffic
from customs.ceb.documents import ExtractedDocument, extract, kind_of
from customs.ceb.parsing import parse_untrusted
from customs.ceb.schema import validate_against_xsd
from customs.domain import field_rules
from customs.domain.errors import MessageFormatError
from customs.validation import FORMAT_RULES, check_formats

# The rules that relate fields: reported by the full checks, never by field_errors.
RELATING = {
    "resident-id-format",
    "resident-id-birth-date",
    "resident-id-checksum",
    "trade-mode-1210-required",
    "trade-mode-1210-country",
    "trade-mode-1210-omitted",
    "trade-mode-9610-required",
    "line-total",
    "goods-value-total",
    "actural-paid-formula",
    "bar-code-none",
}
FULL = {
    "CEB311Message": lambda d: field_rules.check_order(d.head, d.lines),
    "CEB411Message": lambda d: field_rules.check_payment(d.head),
    "CEB511Message": lambda d: field_rules.check_waybill(d.head),
    "CEB621Message": lambda d: field_rules.check_inventory(d.head, d.lines),
}
BAD_VALUES = ("", " ", "x", "-1", "0", "1.123456", "12345678901234567890", "20251340",
              "20250230120000", "B1", "abc-def", "142 ", "+.5", "1e3", "I", "9610",
              "1210")  # fmt: skip


def _documents() -> list[tuple[str, ExtractedDocument]]:
    declarations = list(traffic.generate(60, seed=11, bad_share=0.3, risky_share=0.2))
    found = []
    for message in traffic.messages(declarations, traffic.make_identities()):
        root = parse_untrusted(message.body)
        try:
            message_type = validate_against_xsd(root)
        except MessageFormatError:  # the deliberately XSD-invalid ones
            continue
        for doc in extract(root, kind_of(message_type, root)).documents:
            found.append((message_type, doc))
    return found


def _spoilt(doc: ExtractedDocument, rng: random.Random) -> ExtractedDocument:
    head = dict(doc.head)
    lines = [dict(line) for line in doc.lines]
    for fields in [head, *lines]:
        for name in list(fields):
            roll = rng.random()
            if roll < 0.15:
                fields[name] = rng.choice(BAD_VALUES)
            elif roll < 0.18:
                del fields[name]
    rng.shuffle(lines)  # gnum out of sequence
    return ExtractedDocument(doc.index, head, tuple(lines), doc.element)


DOCUMENTS = _documents()


@pytest.mark.parametrize("seed", range(8))
def test_field_errors_are_the_full_checks_without_the_relating_rules(seed):
    rng = random.Random(seed)
    compared = seen_relating = 0
    for message_type, doc in DOCUMENTS:
        spoilt = doc if seed == 0 else _spoilt(doc, rng)
        full = FULL[message_type](spoilt)
        fast = field_rules.field_errors(message_type, spoilt.head, spoilt.lines)
        assert fast == [e for e in full if e.rule not in RELATING]
        compared += len(full)
        seen_relating += sum(e.rule in RELATING for e in full)
    assert compared and (seed == 0 or seen_relating)  # both kinds of rules were exercised


def test_no_relating_rule_is_a_format_rule():
    assert not RELATING & FORMAT_RULES
    assert set(field_rules.RULES) >= RELATING


def test_check_formats_names_every_breach_in_document_order():
    message_type, doc = next((t, d) for t, d in DOCUMENTS if t == "CEB311Message")
    root = doc.element.getroottree().getroot()
    message = extract(root, kind_of(message_type, root))
    first = message.documents[0]
    first.head["currency"] = "840"
    first.lines[0]["gnum"] = "7"
    with pytest.raises(MessageFormatError) as refused:
        check_formats(message)
    assert [(e.path, e.rule) for e in refused.value.errors] == [
        ("/ceb:CEB311Message/ceb:Order[1]/ceb:OrderHead/ceb:currency", "field:import-currency"),
        ("/ceb:CEB311Message/ceb:Order[1]/ceb:OrderList[1]/ceb:gnum", "field:gnum-sequence"),
    ]


def _numbers(rng: random.Random) -> list[str]:
    edge = ["0", "00", "0.", "0.0", ".0", "0.00000", "1", "1.", ".5", "0.00001", "0.000001",
            "1.10000", "1.100000", "12345678901234", "123456789012345", "12345678901234.12345",
            "1234567890123456789", "12345678901234567890", "00000000000000000000001",
            "-0", "-1", "+1", "+0.0", " 1", "1 ", "1e3", "", ".", "1.2.3", "١٢"]  # fmt: skip
    for _ in range(3000):
        whole = "".join(rng.choice("0000123456789") for _ in range(rng.randint(0, 21)))
        fraction = "".join(rng.choice("0000123456789") for _ in range(rng.randint(0, 8)))
        sign = rng.choice(["", "", "", "-", "+"])
        edge.append(sign + whole + rng.choice([".", ".", ""]) * bool(fraction or whole) + fraction)
    return edge


@pytest.mark.parametrize("money", [True, False])
def test_the_plain_amount_shortcut_decides_as_the_exact_decimal_rules(money):
    # the field checked as a money amount or as a quantity of a line, shortcut and all
    spec = field_rules._Spec("OrderList", **{"money" if money else "quantities": ("qty",)})
    for value in _numbers(random.Random(5)):
        exact = field_rules._decimal_exact("OrderList[1]", "qty", value, money=money)
        assert field_rules._check(spec, {"qty": value}, 1) == exact, value
