"""Explainable rules that score an import declaration and choose its route.

Each rule adds points with a reason an officer can read and the evidence behind it; the total
(capped at 100) picks the route: release below `review_from`, review below `inspect_from`,
inspect above. A small share of declarations is inspected at random, whatever their score, so
that the outcomes of inspections stay an unbiased sample to learn from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from schemas.events import DeclarationReadyV1, DeclaredLine, RiskReason

Route = Literal["release", "review", "inspect"]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The thresholds and lists of the rules; versioned, so every assessment says which it used."""

    version: str = "rules-2026.11.1"
    review_from: int = 40
    inspect_from: int = 70
    random_inspection_rate: Decimal = Decimal("0.02")
    high_value: Decimal = Decimal("4000")
    annual_limit: Decimal = Decimal("26000")
    quota_near_share: Decimal = Decimal("0.8")
    prohibited_keywords: tuple[str, ...] = (
        "枪", "弹药", "毒品", "象牙", "犀牛角", "firearm", "ammunition", "ivory", "narcotic",
    )  # fmt: skip
    restricted_hs_prefixes: tuple[str, ...] = ("3004", "9303", "9304", "2402")
    new_enterprise_points: int = 25
    high_value_points: int = 30
    quota_near_points: int = 20


@dataclass(frozen=True, slots=True)
class History:
    """What risk already knows about the parties (from its own records)."""

    enterprise_declarations: int = 0  # earlier declarations of this ebcCode


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
    declaration: DeclarationReadyV1, history: History, rules: RuleSet = RuleSet()
) -> Assessment:
    """Score a declaration with every rule, then route it."""
    reasons: list[RiskReason] = []
    reasons += _prohibited(declaration.lines, rules)
    if history.enterprise_declarations == 0:
        reasons.append(
            RiskReason(
                code="new-enterprise",
                text=f"First declaration of e-commerce enterprise {declaration.ebc_code}",
                points=rules.new_enterprise_points,
                evidence={"ebcCode": declaration.ebc_code},
            )
        )
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
    share = declaration.buyer_used_this_year / rules.annual_limit
    if share >= rules.quota_near_share:
        reasons.append(
            RiskReason(
                code="quota-near-limit",
                text=f"The buyer has used {share:.0%} of the annual quota",
                points=rules.quota_near_points,
                evidence={
                    "used": str(declaration.buyer_used_this_year),
                    "limit": str(rules.annual_limit),
                },
            )
        )
    score = min(100, sum(r.points for r in reasons))
    route: Route = (
        "inspect"
        if score >= rules.inspect_from
        else "review"
        if score >= rules.review_from
        else "release"
    )
    drawn = random_draw(str(declaration.declaration_id)) < rules.random_inspection_rate
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


def _prohibited(lines: Sequence[DeclaredLine], rules: RuleSet) -> list[RiskReason]:
    found: list[RiskReason] = []
    for line in lines:
        gnum, name, gcode = line.gnum, line.item_name.lower(), line.gcode
        hits = [k for k in rules.prohibited_keywords if k.lower() in name]
        if hits:
            found.append(
                RiskReason(
                    code="prohibited-goods",
                    text=f"Line {gnum}: the item name mentions {', '.join(hits)}",
                    points=100,
                    evidence={"gnum": str(gnum), "itemName": name, "gcode": gcode},
                )
            )
        if gcode.startswith(rules.restricted_hs_prefixes):
            found.append(
                RiskReason(
                    code="restricted-hs",
                    text=f"Line {gnum}: HS code {gcode} is restricted in retail import",
                    points=70,
                    evidence={"gnum": str(gnum), "gcode": gcode},
                )
            )
    return found
