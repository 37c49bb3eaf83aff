"""Undervaluation: a declared unit price far below what the same goods from the same origin
usually declare.

The reference is learned from risk's own history of declared lines, per HS code and origin
country, with robust statistics: the median and the median absolute deviation (MAD), which a few
absurd prices in the history cannot move. A line is compared with the most precise reference that
has enough samples: its 10-digit HS code, then the 6-digit subheading, the 4-digit heading, the
2-digit chapter.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from risk.domain.ruleset import RuleSet
from schemas.events import DeclaredLine, RiskReason

# MAD x 1.4826 estimates the standard deviation of normally distributed prices.
MAD_TO_SIGMA = Decimal("1.4826")
HS_LEVELS = (10, 6, 4, 2)
_LEVEL_NAMES = {10: "HS code", 6: "HS subheading", 4: "HS heading", 2: "HS chapter"}


@dataclass(frozen=True, slots=True)
class PriceReference:
    """The usual unit price of goods under one HS code (or prefix) from one origin."""

    median: Decimal
    mad: Decimal
    samples: int


@lru_cache(maxsize=8192)
def reference_keys(gcode: str, country: str) -> tuple[str, ...]:
    """The keys a line's unit price is learned and looked up under, most precise first.

    Cached: a line's keys are asked for three times as it is assessed and remembered, and the
    goods of a zone's traffic come back (four strings formatted each time: 3.2% of risk's
    handlers' instructions); bounded, as HS codes and countries are many."""
    return tuple(f"{level}:{gcode[:level]}:{country}" for level in HS_LEVELS)


def robust_reference(prices: Iterable[Decimal]) -> PriceReference | None:
    """Median and MAD of some unit prices; None without any."""
    return reference_of_sorted(sorted(prices))


def reference_of_sorted(values: Sequence[Decimal]) -> PriceReference | None:
    """Median and MAD of some unit prices in ascending order; None without any."""
    if not values:
        return None
    middle = _median(values)
    # The deviations |v - middle|, made in C, as two ascending runs (those of the prices below
    # the median, nearest first, then those of the rest), which the sort merges rather than
    # sorts (a sample holds up to RESERVOIR_SIZE prices, and a run computes the references its
    # new prices changed: 27 -> 22 us for 140 prices)
    below = bisect_left(values, middle)
    deviations = [
        *map(middle.__sub__, reversed(values[:below])),  # middle - v, v < middle
        *map(middle.__rsub__, values[below:]),  # v - middle, v >= middle
    ]
    mad = _median(sorted(deviations))
    return PriceReference(median=middle, mad=mad, samples=len(values))


def _median(ordered: Sequence[Decimal]) -> Decimal:
    """The median of sorted prices, as `statistics.median` computes it (the middle one, or the
    mean of the two middle ones)."""
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def lower_bound(reference: PriceReference, rules: RuleSet) -> Decimal:
    """The price below which a line counts as undervalued: both under `undervaluation_ratio` of
    the median and more than `undervaluation_mad_factor` robust deviations below it."""
    by_ratio = reference.median * rules.undervaluation_ratio
    by_spread = reference.median - rules.undervaluation_mad_factor * MAD_TO_SIGMA * reference.mad
    return min(by_ratio, by_spread)


def undervalued(
    lines: Sequence[DeclaredLine], references: Mapping[str, PriceReference], rules: RuleSet
) -> list[RiskReason]:
    """A reason for each line whose unit price is far below its reference."""
    found: list[RiskReason] = []
    for line in lines:
        chosen = _reference_for(line, references, rules.undervaluation_min_samples)
        if chosen is None:
            continue
        key, reference = chosen
        bound = lower_bound(reference, rules)
        if line.unit_price >= bound:
            continue
        level = int(key.split(":", 1)[0])
        prefix = line.gcode[:level]
        found.append(
            RiskReason(
                code="undervaluation",
                text=f"Line {line.gnum}: unit price {_cny(line.unit_price)} is far below the "
                f"usual {_cny(reference.median)} for {_LEVEL_NAMES[level]} {prefix} from "
                f"country {line.country} (median of {reference.samples} declared lines; "
                f"below {_cny(bound)} is suspect)",
                points=rules.undervaluation_points,
                evidence={
                    "gnum": str(line.gnum),
                    "gcode": line.gcode,
                    "country": line.country,
                    "declaredUnitPrice": str(line.unit_price),
                    "referenceHs": prefix,
                    "referenceUnitPrice": _cny(reference.median),
                    "mad": _cny(reference.mad),
                    "lowerBound": _cny(bound),
                    "samples": str(reference.samples),
                },
            )
        )
    return found


def references_compared(
    lines: Iterable[DeclaredLine],
    reference: Callable[[str], PriceReference | None],
    min_samples: int,
) -> dict[str, PriceReference]:
    """The references `undervalued` reads for these lines, each looked up once with `reference`:
    a line's keys, most precise first, up to the first with `min_samples` samples (as
    `_reference_for` stops there, the keys after it need not be looked up)."""
    found: dict[str, PriceReference] = {}
    looked: set[str] = set()
    for line in lines:
        for key in reference_keys(line.gcode, line.country):
            if key not in looked:
                looked.add(key)
                value = reference(key)
                if value is not None:
                    found[key] = value
            chosen = found.get(key)
            if chosen is not None and chosen.samples >= min_samples:
                break
    return found


def _reference_for(
    line: DeclaredLine, references: Mapping[str, PriceReference], min_samples: int
) -> tuple[str, PriceReference] | None:
    for key in reference_keys(line.gcode, line.country):
        found = references.get(key)
        if found is not None and found.samples >= min_samples:
            return key, found
    return None


def _cny(amount: Decimal) -> str:
    return f"{amount:.2f}"
