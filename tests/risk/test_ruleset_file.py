"""Rule sets load from files, so thresholds and lists change without a code change."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from risk.domain.rules import HsKeywords, RuleSet, WatchlistEntry
from risk.ruleset_file import (
    RuleSetInvalid,
    default_ruleset_text,
    load_ruleset,
    parse_ruleset,
    ruleset_document,
    ruleset_from,
)


def test_the_shipped_rule_set_is_the_documented_default():
    assert load_ruleset(default_ruleset_text()) == RuleSet()


def test_a_rule_set_file_changes_thresholds_and_carries_its_version(tmp_path):
    rules = json.loads(default_ruleset_text())
    rules.update(version="rules-2026.12.1", high_value="3000", prohibited_keywords=["仿冒"])
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    loaded = ruleset_from(str(path))
    assert (loaded.version, loaded.high_value, loaded.prohibited_keywords) == (
        "rules-2026.12.1",
        Decimal("3000"),
        ("仿冒",),
    )


def test_without_a_file_the_settings_random_rate_applies():
    assert ruleset_from(
        None, random_inspection_rate=Decimal("0.1")
    ).random_inspection_rate == Decimal("0.1")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"random_inspection_rate": "1.5"}, "random_inspection_rate"),
        ({"review_from": 90}, "review_from must not be above inspect_from"),
        ({"restricted_hs_prefixes": ["30A4"]}, "restricted_hs_prefixes.0"),
        ({"unknown_rule": 1}, "unknown_rule"),
        ({"high_value": "-1"}, "high_value"),
        ({"buyer_day_max": 5, "buyer_week_max": 4}, "buyer_week_max must not be below"),
        ({"hs_keywords": [{"keywords": ["奶粉"], "hs_prefixes": ["04x2"]}]}, "hs_keywords.0"),
        ({"hs_keywords": [{"keywords": [], "hs_prefixes": ["0402"]}]}, "hs_keywords.0.keywords"),
        (
            {"watchlist": [{"kind": "buyer", "value": "13800000000", "reason": "x"}]},
            "watchlist.0.value: Value error, a buyer key is the 64 hex digits",
        ),
        (
            {"watchlist": [{"kind": "enterprise", "value": "33019600-2", "reason": "x"}]},
            "watchlist.0.value: Value error, an enterprise code",
        ),
        (
            {"watchlist": [{"kind": "ship", "value": "3301960002", "reason": "x"}]},
            "watchlist.0.kind",
        ),
        ({"watchlist": [{"kind": "enterprise", "value": "3301960002"}]}, "watchlist.0.reason"),
        ({"undervaluation_min_samples": 0}, "undervaluation_min_samples"),
    ],
)
def test_a_bad_rule_set_is_refused_naming_the_field(change, named):
    rules = {**json.loads(default_ruleset_text()), **change}
    with pytest.raises(RuleSetInvalid, match=named):
        load_ruleset(json.dumps(rules))


def test_a_file_that_is_not_json_is_refused():
    with pytest.raises(RuleSetInvalid, match="rule set"):
        load_ruleset("{not json")


def test_watchlists_and_keyword_tables_load_into_the_rule_set():
    rules = json.loads(default_ruleset_text())
    rules["watchlist"] = [
        {"kind": "enterprise", "value": "3301960002", "reason": "fake invoices"},
        {"kind": "address", "value": "b" * 64, "reason": "a parcel forwarder", "points": 40},
    ]
    rules["hs_keywords"] = [{"keywords": ["保温杯"], "hs_prefixes": ["9617"]}]
    loaded = load_ruleset(json.dumps(rules, ensure_ascii=False))
    assert loaded.watchlist == (
        WatchlistEntry("enterprise", "3301960002", "fake invoices"),
        WatchlistEntry("address", "b" * 64, "a parcel forwarder", points=40),
    )
    assert loaded.hs_keywords == (HsKeywords(("保温杯",), ("9617",)),)


def test_a_rule_set_and_its_document_round_trip():
    rules = RuleSet(
        version="v2",
        watchlist=(WatchlistEntry("buyer", "c" * 64, "chargebacks"),),
        undervaluation_ratio=Decimal("0.45"),
    )
    document = ruleset_document(rules)
    assert document["undervaluation_ratio"] == "0.45"
    assert parse_ruleset(json.dumps(document)) == (rules, document)


def test_the_errors_carry_the_location_and_the_rule_of_each_problem():
    rules = {**json.loads(default_ruleset_text()), "review_from": -1, "inspect_from": "x"}
    with pytest.raises(RuleSetInvalid) as raised:
        load_ruleset(json.dumps(rules))
    assert [(loc, rule) for loc, rule, _ in raised.value.errors] == [
        (("review_from",), "greater_than_equal"),
        (("inspect_from",), "int_parsing"),
    ]
