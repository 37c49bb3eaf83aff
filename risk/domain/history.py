"""What risk already knows when it scores a declaration: counts from its own records of earlier
declarations (by event time) and the reference prices learned from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from risk.domain.prices import PriceReference


@dataclass(frozen=True, slots=True)
class History:
    """Risk's records about the parties of one declaration, this declaration excluded."""

    enterprise_declarations: int = 0  # earlier declarations of this ebcCode
    platform_declarations: int = 0  # earlier declarations of this ebpCode
    buyer_last_day: int = 0  # this buyer's declarations in the 24 hours before this one
    buyer_last_week: int = 0  # ... in the 7 days before this one
    phone_other_buyers: int = 0  # other buyers seen with this phone key (within the window)
    address_other_buyers: int = 0  # other buyers seen with this address key (within the window)
    # by reference key: at least those `prices.undervalued` reads (`prices.references_compared`)
    prices: Mapping[str, PriceReference] = field(default_factory=dict)


def count_within(times: Iterable[datetime], start: datetime, end: datetime) -> int:
    """How many of the times fall in (start, end]: one exactly at `start` is out of the window."""
    return sum(1 for t in times if start < t <= end)


def other_buyers(
    seen: Iterable[tuple[str, datetime]], buyer_key: str, start: datetime, end: datetime
) -> int:
    """How many buyers other than `buyer_key` were seen (buyer, time) in (start, end]."""
    return len({buyer for buyer, t in seen if buyer != buyer_key and start < t <= end})
