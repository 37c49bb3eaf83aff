"""The HS code against the item name: keywords in Chinese and English point at HS codes."""

from __future__ import annotations

import pytest

from risk.domain.goods import hs_inconsistent
from risk.domain.rules import HsKeywords, RuleSet
from tests.risk.declarations import declaration


@pytest.mark.parametrize(
    ("item_name", "gcode", "fires"),
    [
        ("婴儿奶粉", "1901101000", False),
        ("婴儿奶粉", "0402210000", False),
        ("婴儿奶粉", "3304990000", True),
        ("Infant Formula Stage 1", "1901101000", False),
        ("Infant Formula Stage 1", "8517130000", True),
        ("迪奥口红 999", "3304100000", False),
        ("迪奥口红 999", "3303000000", True),
        ("MAC LIPSTICK Ruby Woo", "3304100000", False),
        ("MAC LIPSTICK Ruby Woo", "1901101000", True),
        ("华为手机", "8517130000", False),
        ("华为手机", "8518300000", True),
        ("手机壳 透明", "3926909090", False),  # a phone case: its own entry widens the codes
        ("降噪耳机 headphones", "8518300000", False),
        ("保温杯", "9617001900", False),  # no keyword: nothing to compare
    ],
)
def test_an_hs_code_is_checked_against_the_keywords_of_the_name(item_name, gcode, fires):
    found = hs_inconsistent(
        declaration(lines=[{"item_name": item_name, "gcode": gcode}]).lines, RuleSet()
    )
    assert bool(found) is fires
    if fires:
        (reason,) = found
        assert reason.code == "hs-inconsistent"
        assert reason.points == RuleSet().hs_mismatch_points
        assert reason.evidence["gcode"] == gcode
        assert item_name in reason.text and gcode in reason.text


def test_the_reason_names_the_keywords_and_the_expected_codes():
    (reason,) = hs_inconsistent(
        declaration(lines=[{"item_name": "婴儿奶粉", "gcode": "3304990000"}]).lines, RuleSet()
    )
    assert reason.evidence["keywords"] == "奶粉"
    assert reason.evidence["expectedHs"] == "0402, 1901"
    assert "0402 or 1901" in reason.text


def test_each_line_is_checked_on_its_own():
    lines = declaration(
        lines=[
            {"item_name": "婴儿奶粉", "gcode": "1901101000"},
            {"item_name": "香水", "gcode": "1901101000"},
        ]
    ).lines
    assert [r.evidence["gnum"] for r in hs_inconsistent(lines, RuleSet())] == ["2"]


def test_the_keyword_table_comes_from_the_rule_set():
    rules = RuleSet(hs_keywords=(HsKeywords(("保温杯", "vacuum flask"), ("9617",)),))
    lines = declaration(lines=[{"item_name": "保温杯", "gcode": "7323930000"}]).lines
    assert [r.code for r in hs_inconsistent(lines, rules)] == ["hs-inconsistent"]
    assert (
        hs_inconsistent(
            declaration(lines=[{"item_name": "婴儿奶粉", "gcode": "3304990000"}]).lines, rules
        )
        == []
    )


def test_keywords_match_case_blind_and_as_plain_text():
    # a keyword written in capitals, and one holding characters a regular expression would read
    rules = RuleSet(
        hs_keywords=(
            HsKeywords(("Vacuum FLASK",), ("9617",)),
            HsKeywords(("c++ guide", "a.b"), ("4901",)),
        )
    )
    flask = declaration(lines=[{"item_name": "vacuum flask 500ml", "gcode": "7323930000"}])
    (reason,) = hs_inconsistent(flask.lines, rules)
    assert reason.evidence["keywords"] == "Vacuum FLASK"
    book = declaration(lines=[{"item_name": "The C++ Guide", "gcode": "8471300000"}])
    assert [r.evidence["keywords"] for r in hs_inconsistent(book.lines, rules)] == ["c++ guide"]
    # "a.b" is three characters, not a pattern: "axb" does not hold it
    other = declaration(lines=[{"item_name": "axb", "gcode": "8471300000"}])
    assert hs_inconsistent(other.lines, rules) == []


def test_prohibited_keywords_match_case_blind():
    rules = RuleSet(prohibited_keywords=("IVORY", "象牙"))
    assert rules.prohibited_in("carved ivory 象牙 box") == ["IVORY", "象牙"]
    assert rules.prohibited_in("ivy") == []
