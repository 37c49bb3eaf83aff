"""Rules on the goods: prohibited names, restricted HS codes, HS codes that do not fit the name."""

from __future__ import annotations

from collections.abc import Sequence

from risk.domain.ruleset import RuleSet
from schemas.events import DeclaredLine, RiskReason


def prohibited(lines: Sequence[DeclaredLine], rules: RuleSet) -> list[RiskReason]:
    """Lines naming prohibited goods, or declared under a restricted HS code."""
    found: list[RiskReason] = []
    for line in lines:
        gnum, name, gcode = line.gnum, line.item_name.lower(), line.gcode
        hits = rules.prohibited_in(name)
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


def hs_inconsistent(lines: Sequence[DeclaredLine], rules: RuleSet) -> list[RiskReason]:
    """Lines whose name's keywords point at HS codes none of which is the declared one."""
    found: list[RiskReason] = []
    for line in lines:
        name = line.item_name.casefold()
        keywords: list[str] = []
        expected: list[str] = []
        for entry in rules.hs_keywords:
            hits = entry.hits(name)
            if hits:
                keywords += hits
                expected += [p for p in entry.hs_prefixes if p not in expected]
        if not keywords or line.gcode.startswith(tuple(expected)):
            continue
        found.append(
            RiskReason(
                code="hs-inconsistent",
                text=f"Line {line.gnum}: '{line.item_name}' is usually declared under HS "
                f"{' or '.join(expected)}, not {line.gcode}",
                points=rules.hs_mismatch_points,
                evidence={
                    "gnum": str(line.gnum),
                    "itemName": line.item_name,
                    "gcode": line.gcode,
                    "keywords": ", ".join(keywords),
                    "expectedHs": ", ".join(expected),
                },
            )
        )
    return found
