"""The learned model on top of the rules, at assessment time.

How the two combine: the model's probability p becomes a 0-100 score that puts the model's
own threshold t at the rule set's `inspect_from` (linear from 0 to t, and from t to 1), so a
declaration the model would flag is inspected and one close to it is reviewed. The score is the
higher of the rules' and the model's: the rules still decide prohibited goods, restricted HS
codes and random inspections (their route is never lowered). When the model raises the score, a
`learned-model` reason carries the extra points; the features that pushed the model's score up
most follow as reasons with points 0 and their evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from risk import model_history
from risk.domain.rules import Assessment, Route, RuleSet
from risk.model import explain, gbm
from risk.model.features import Declared, History, Value, features
from schemas.events import RiskReason

CURRENT_FILE = "CURRENT"  # in the model folder: the version the worker loads


def current_model(folder: str | None) -> gbm.RiskModel | None:
    """The model named by `folder/CURRENT`, or None (rules only) when there is none."""
    if not folder:
        return None
    pointer = Path(folder) / CURRENT_FILE
    if not pointer.is_file():
        return None
    return gbm.load(Path(folder) / pointer.read_text(encoding="utf-8").strip())


def model_points(probability: float, threshold: float, inspect_from: int) -> int:
    """The model's probability as a 0-100 score with its threshold at `inspect_from`."""
    threshold = min(max(threshold, 1e-6), 1 - 1e-6)
    if probability < threshold:
        points = probability / threshold * inspect_from
    else:
        points = inspect_from + (probability - threshold) / (1 - threshold) * (100 - inspect_from)
    return max(0, min(100, round(points)))


@dataclass(frozen=True, slots=True)
class ModelPart:
    """What the model said about one declaration."""

    probability: float
    score: int
    reasons: tuple[RiskReason, ...]


def score(session: Session, model: gbm.RiskModel, declared: Declared, rules: RuleSet) -> ModelPart:
    """One LightGBM call (contributions; their sum is the log-odds) for a declaration."""
    history = model_history.history_for(session, declared)
    (part,) = parts(model, [(declared, features(declared, history), history)], rules)
    return part


def parts(
    model: gbm.RiskModel,
    scored: Sequence[tuple[Declared, dict[str, Value], History]],
    rules: RuleSet,
) -> list[ModelPart]:
    """The model's part for each declaration (its facts, features and the history they were
    read from), in one LightGBM call: each row's contributions are computed on their own."""
    if not scored:
        return []
    matrix = model.encoding.matrix([row for _, row, _ in scored])
    contributions = model.booster.predict(matrix, pred_contrib=True, num_threads=1)
    found = []
    for (declared, row, history), contribution in zip(scored, contributions, strict=True):
        probability = 1 / (1 + math.exp(-float(sum(contribution))))
        found.append(
            ModelPart(
                probability=probability,
                score=model_points(probability, model.threshold, rules.inspect_from),
                reasons=explain.reasons(declared, row, [float(c) for c in contribution], history),
            )
        )
    return found


def combine(result: Assessment, part: ModelPart, rules: RuleSet, version: str) -> Assessment:
    """The rules' assessment with the model's score and reasons added (see the module doc)."""
    reasons = list(result.reasons)
    if part.score > result.score:
        reasons.append(
            RiskReason(
                code="learned-model",
                text=f"The learned model puts the chance that an inspection finds a problem at "
                f"{part.probability:.0%}",
                points=part.score - result.score,
                evidence={"probability": f"{part.probability:.4f}", "modelVersion": version},
            )
        )
    total = max(result.score, part.score)
    route: Route = (
        "inspect"
        if total >= rules.inspect_from
        else "review"
        if total >= rules.review_from
        else "release"
    )
    order = ("release", "review", "inspect")
    if order.index(result.route) > order.index(route):
        route = result.route  # a random inspection or a rule's route stands
    return replace(result, score=total, route=route, reasons=(*reasons, *part.reasons))
