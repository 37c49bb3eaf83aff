"""Score distribution drift as a population stability index (pure).

PSI = sum over score bands of (recent% - reference%) * ln(recent% / reference%), bands of ten
points; an empty band counts as 0.1% so the logarithm stays finite. Usual reading: below 0.1
stable, 0.1 to 0.25 some drift, above 0.25 a shift worth retraining for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BANDS = 10
FLOOR = 0.001


def shares(scores: Sequence[int]) -> list[float]:
    """The share of 0-100 scores in each band of ten (100 counts in the last band)."""
    counts = [0] * BANDS
    for score in scores:
        counts[min(score // 10, BANDS - 1)] += 1
    total = len(scores) or 1
    return [c / total for c in counts]


def psi(reference: Sequence[int], recent: Sequence[int]) -> float:
    """Population stability index of `recent` scores against `reference` scores."""
    value = 0.0
    for ref_share, new_share in zip(shares(reference), shares(recent), strict=True):
        ref, new = max(ref_share, FLOOR), max(new_share, FLOOR)
        value += (new - ref) * math.log(new / ref)
    return value


def reading(value: float) -> str:
    """How to read a PSI."""
    return "stable" if value < 0.1 else "some drift" if value < 0.25 else "shifted"
