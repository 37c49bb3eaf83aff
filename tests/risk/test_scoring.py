"""How the model's probability and the rules combine into one score and route."""

from __future__ import annotations

import pytest

from risk.domain.rules import Assessment, RuleSet
from risk.scoring import ModelPart, combine, model_points
from schemas.events import RiskReason

RULES = RuleSet()  # review from 40, inspect from 70


@pytest.mark.parametrize(
    ("probability", "threshold", "points"),
    [(0.0, 0.4, 0), (0.2, 0.4, 35), (0.4, 0.4, 70), (0.7, 0.4, 85), (1.0, 0.4, 100)],
)
def test_the_models_threshold_sits_at_the_inspection_score(probability, threshold, points):
    assert model_points(probability, threshold, RULES.inspect_from) == points


def _part(score: int) -> ModelPart:
    reason = RiskReason(code="model:seller_fraud_rate", text="t", points=0)
    return ModelPart(probability=score / 100, score=score, reasons=(reason,))


def test_a_higher_model_score_raises_the_route_and_says_so():
    rules = Assessment(score=25, route="release", reasons=())
    combined = combine(rules, _part(75), RULES, "v1")
    assert (combined.score, combined.route) == (75, "inspect")
    (model, feature) = combined.reasons
    assert (model.code, model.points, model.evidence["modelVersion"]) == ("learned-model", 50, "v1")
    assert feature.code == "model:seller_fraud_rate"


def test_the_rules_route_is_never_lowered_by_the_model():
    prohibited = RiskReason(code="prohibited-goods", text="ivory", points=100)
    rules = Assessment(score=100, route="inspect", reasons=(prohibited,))
    combined = combine(rules, _part(3), RULES, "v1")
    assert (combined.score, combined.route) == (100, "inspect")
    assert [r.code for r in combined.reasons] == ["prohibited-goods", "model:seller_fraud_rate"]
    random_pick = Assessment(score=0, route="inspect", reasons=())
    assert combine(random_pick, _part(10), RULES, "v1").route == "inspect"
