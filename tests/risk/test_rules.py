"""The risk rules, as tables: each reason, its points, the route, the random inspections."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from risk.domain.rules import History, RuleSet, assess, random_draw
from tests.risk.declarations import declaration

NO_RANDOM = RuleSet(random_inspection_rate=Decimal(0))
KNOWN = History(enterprise_declarations=5, platform_declarations=9)
NEW_SELLER = History(platform_declarations=9)  # a new seller on a known platform


@pytest.mark.parametrize(
    ("changes", "history", "codes", "score", "route"),
    [
        ({}, KNOWN, [], 0, "release"),
        ({}, NEW_SELLER, ["new-enterprise"], 25, "release"),
        ({}, History(enterprise_declarations=5), ["new-platform"], 10, "release"),
        ({}, History(), ["new-enterprise", "new-platform"], 35, "release"),
        ({"dutiable_value": "4000"}, KNOWN, ["high-value"], 30, "release"),
        ({"dutiable_value": "4600"}, NEW_SELLER, ["new-enterprise", "high-value"], 55, "review"),
        ({"buyer_used_this_year": "20800"}, KNOWN, ["quota-near-limit"], 20, "release"),
        (
            {"dutiable_value": "4600", "buyer_used_this_year": "25000"},
            NEW_SELLER,
            ["new-enterprise", "high-value", "quota-near-limit"],
            75,
            "inspect",
        ),
        ({"lines": [{"item_name": "象牙手镯"}]}, KNOWN, ["prohibited-goods"], 100, "inspect"),
        ({"lines": [{"item_name": "Ivory carving"}]}, KNOWN, ["prohibited-goods"], 100, "inspect"),
        (
            {"lines": [{"gcode": "3004900000", "item_name": "感冒药"}]},
            KNOWN,
            ["restricted-hs"],
            70,
            "inspect",
        ),
    ],
)
def test_each_rule_gives_its_reason_points_and_route(changes, history, codes, score, route):
    result = assess(declaration(**changes), history, NO_RANDOM)
    assert [r.code for r in result.reasons] == codes
    assert (result.score, result.route) == (score, route)
    assert all(r.text and r.evidence for r in result.reasons)


def test_the_score_is_capped_at_100():
    result = assess(
        declaration(lines=[{"item_name": "ivory", "gcode": "3004900000"}], dutiable_value="4800"),
        History(),
        NO_RANDOM,
    )
    assert result.score == 100


def test_random_inspection_picks_about_its_rate_and_says_so():
    rules = RuleSet(random_inspection_rate=Decimal("0.05"))
    picked = 0
    for n in range(4000):
        result = assess(declaration(declaration_id=str(uuid.UUID(int=n))), KNOWN, rules)
        if result.route == "inspect":
            picked += 1
            assert [r.code for r in result.reasons] == ["random-inspection"]
    assert 140 <= picked <= 260  # 5% of 4000 = 200


def test_the_random_draw_is_the_same_for_the_same_declaration():
    assert random_draw("d-1") == random_draw("d-1")
    assert random_draw("d-1") != random_draw("d-2")
    assert Decimal(0) <= random_draw("d-1") < Decimal(1)


def test_the_id_given_as_text_draws_as_the_declarations_own():
    # the worker passes the id it has made text already; the draw must be the declaration's
    rules = RuleSet(random_inspection_rate=Decimal("0.5"))
    routes = set()
    for n in range(40):
        declared = declaration(declaration_id=str(uuid.UUID(int=n)))
        given = assess(declared, KNOWN, rules, declaration_id=str(declared.declaration_id))
        assert given == assess(declared, KNOWN, rules)
        routes.add(given.route)
    assert routes == {"release", "inspect"}
