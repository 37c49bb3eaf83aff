"""The officers' dashboard in plain functions: the review queue's order and the statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

# Inventory states that wait for an officer: manual review, inspection, detention.
AWAITING_OFFICER = frozenset({300, 500, 501, 502, 503, 599})
RELEASED = 800
# After an inspection, these outcomes mean the inspection found something.
FOUND_SOMETHING = frozenset({100, 501, 502, 503, 599, 700})
CLEARED = frozenset({399, 800, 899})


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One declaration waiting for an officer, with what the queue filters and sorts on."""

    declaration_id: str
    order_no: str
    ebp_code: str
    ebc_code: str
    status: int
    route: str | None
    score: int
    reasons: tuple[str, ...]
    hs_chapters: tuple[str, ...]
    waiting_since: datetime


@dataclass(frozen=True, slots=True)
class QueueFilter:
    route: str | None = None
    reason: str | None = None
    hs_chapter: str | None = None
    enterprise: str | None = None
    older_than_minutes: int | None = None

    def keeps(self, item: QueueItem, now: datetime) -> bool:
        if self.route and item.route != self.route:
            return False
        if self.reason and self.reason not in item.reasons:
            return False
        if self.hs_chapter and self.hs_chapter not in item.hs_chapters:
            return False
        if self.enterprise and self.enterprise not in (item.ebp_code, item.ebc_code):
            return False
        if self.older_than_minutes is not None:
            age = (now - item.waiting_since).total_seconds() / 60
            if age < self.older_than_minutes:
                return False
        return True


def queue(items: Iterable[QueueItem], chosen: QueueFilter, now: datetime) -> list[QueueItem]:
    """The queue: highest risk first, then the longest waiting."""
    kept = [i for i in items if chosen.keeps(i, now)]
    return sorted(kept, key=lambda i: (-i.score, i.waiting_since))


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (share in (0, 1]); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n)
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    """What statistics need of one declaration."""

    created: datetime
    status: int | None
    inspected: bool
    released_at: datetime | None


def daily_counts(facts: Iterable[DeclarationFacts]) -> dict[date, int]:
    counts = Counter(f.created.date() for f in facts)
    return dict(sorted(counts.items()))


def rates(facts: Sequence[DeclarationFacts]) -> dict[str, float | None]:
    """Shares of declarations released and rejected, and the inspections that found something."""
    decided = [f for f in facts if f.status is not None and f.status not in (2, 120)]
    released = sum(1 for f in decided if f.status in CLEARED)
    rejected = sum(1 for f in decided if f.status == 100)
    concluded = [f for f in facts if f.inspected and f.status in FOUND_SOMETHING | CLEARED]
    hits = sum(1 for f in concluded if f.status in FOUND_SOMETHING)
    return {
        "releaseRate": released / len(decided) if decided else None,
        "rejectionRate": rejected / len(decided) if decided else None,
        "inspectionHitRate": hits / len(concluded) if concluded else None,
        "inspectionsConcluded": float(len(concluded)),
    }


def release_times(facts: Iterable[DeclarationFacts]) -> dict[str, float | None]:
    """Seconds from the declaration's first document to its release: p50, p90, p99."""
    seconds = [
        (f.released_at - f.created).total_seconds() for f in facts if f.released_at is not None
    ]
    return {
        "p50": percentile(seconds, 0.5),
        "p90": percentile(seconds, 0.9),
        "p99": percentile(seconds, 0.99),
        "count": float(len(seconds)),
    }


def top_reasons(rejections: Iterable[tuple[int, str]], limit: int = 10) -> list[dict[str, object]]:
    """The most frequent rejection receipts: (return status, return info) counted."""
    counted = Counter((status, info.split("[")[0].strip()) for status, info in rejections)
    return [
        {"returnStatus": status, "returnInfo": info, "count": count}
        for (status, info), count in counted.most_common(limit)
    ]
