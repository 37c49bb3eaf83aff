"""Explainable rules that score an import declaration and choose its route.

Each rule adds points with a reason an officer can read and the evidence behind it; the total
(capped at 100) picks the route: release below `review_from`, review below `inspect_from`,
inspect above. A small share of declarations is inspected at random, whatever their score, so
that the outcomes of inspections stay an unbiased sample to learn from.

The rules live by subject: `goods` (prohibited and restricted goods, HS code against the name),
`prices` (undervaluation), `parties` (newcomers, watchlists, velocity, shared contacts, quota).

Discrepancies found by customs' four-document match are not scored here: customs sends a
declaration to risk only when no blocking mismatch was found, the single and annual limit rules
(X11, X12) are answered by its tax and quota checks with their own rejections, and its only
warning-level rule (X17) concerns export inventories, which never come to risk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from risk.domain import goods, parties, prices
from risk.domain.history import History
from risk.domain.ruleset import HsKeywords, RuleSet, WatchlistEntry
from schemas.events import DeclarationReadyV1, RiskReason

__all__ = [
    "Assessment",
    "History",
    "HsKeywords",
    "Route",
    "RuleSet",
    "WatchlistEntry",
    "assess",
    "random_draw",
]

Route = Literal["release", "review", "inspect"]
DEFAULT_RULES = RuleSet()


@dataclass(frozen=True, slots=True)
class Assessment:
    """A score with its reasons and the route it leads to."""

    score: int
    route: Route
    reasons: tuple[RiskReason, ...] = field(default_factory=tuple)


def random_draw(declaration_id: str) -> Decimal:
    """A reproducible draw in [0, 1) for a declaration (the same id always draws the same)."""
    digest = hashlib.sha256(declaration_id.encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)


def assess(
    declaration: DeclarationReadyV1,
    history: History,
    rules: RuleSet = DEFAULT_RULES,
    *,
    declaration_id: str | None = None,
) -> Assessment:
    """Score a declaration with every rule, then route it (`declaration_id`: its id as text,
    where the caller has made it already)."""
    reasons: list[RiskReason] = []
    reasons += goods.prohibited(declaration.lines, rules)
    reasons += goods.hs_inconsistent(declaration.lines, rules)
    reasons += prices.undervalued(declaration.lines, history.prices, rules)
    reasons += parties.watchlisted(declaration, rules)
    reasons += parties.newcomers(declaration, history, rules)
    if declaration.dutiable_value >= rules.high_value:
        reasons.append(
            RiskReason(
                code="high-value",
                text=f"Dutiable value {declaration.dutiable_value} CNY is close to the "
                "single-transaction limit",
                points=rules.high_value_points,
                evidence={"dutiableValue": str(declaration.dutiable_value)},
            )
        )
    reasons += parties.quota_near_limit(declaration, rules)
    reasons += parties.buyer_velocity(history, rules)
    reasons += parties.shared_contacts(declaration, history, rules)
    score = min(100, sum(r.points for r in reasons))
    route: Route = (
        "inspect"
        if score >= rules.inspect_from
        else "review"
        if score >= rules.review_from
        else "release"
    )
    if declaration_id is None:
        declaration_id = str(declaration.declaration_id)
    drawn = random_draw(declaration_id) < rules.random_inspection_rate
    if route != "inspect" and drawn:
        reasons.append(
            RiskReason(
                code="random-inspection",
                text="Selected for random inspection (keeps inspection outcomes unbiased)",
                points=0,
                evidence={"rate": str(rules.random_inspection_rate)},
            )
        )
        route = "inspect"
    return Assessment(score=score, route=route, reasons=tuple(reasons))
