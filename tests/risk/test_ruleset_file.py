"""Rule sets load from files, so thresholds and lists change without a code change."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from risk.domain.rules import RuleSet
from risk.ruleset_file import RuleSetInvalid, default_ruleset_text, load_ruleset, ruleset_from


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
    ],
)
def test_a_bad_rule_set_is_refused_naming_the_field(change, named):
    rules = {**json.loads(default_ruleset_text()), **change}
    with pytest.raises(RuleSetInvalid, match=named):
        load_ruleset(json.dumps(rules))


def test_a_file_that_is_not_json_is_refused():
    with pytest.raises(RuleSetInvalid, match="rule set"):
        load_ruleset("{not json")
