"""Webhooks: which events go to which tenant, and when a failed delivery is tried again.

A delivery that fails is retried after 30 s, 1, 2, 4 ... minutes (doubling, at most an hour
apart) until it succeeds or a day has passed since the event; then it is marked failed, and stays
in the delivery log where it can be replayed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# The events a tenant may subscribe to (the receipts customs issues for its documents).
SUBSCRIBABLE = (
    "customs.document_accepted.v1",
    "customs.document_rejected.v1",
    "customs.clearance_changed.v1",
)
FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
GIVE_UP_AFTER = timedelta(hours=24)


def retry_delay_s(attempts: int, first_s: int = FIRST_RETRY_S) -> int:
    """Seconds to wait after the `attempts`-th failed attempt (1, 2, ...)."""
    return int(min(MAX_RETRY_S, first_s * 2 ** max(0, attempts - 1)))


def next_attempt(
    created: datetime, now: datetime, attempts: int, first_s: int = FIRST_RETRY_S
) -> datetime | None:
    """When to try again after a failure, or None when the day is over (give up)."""
    at = now + timedelta(seconds=retry_delay_s(attempts, first_s))
    return None if at - created > GIVE_UP_AFTER else at


def party_codes(parties: Mapping[str, Any]) -> set[str]:
    """The enterprise codes in an event's `parties` (role -> code)."""
    return {code for code in parties.values() if isinstance(code, str) and code}


@dataclass(frozen=True, slots=True)
class Subscriber:
    """An active subscription as the fan-out sees it: whose it is and what it takes."""

    subscription_id: str
    tenant_id: str
    event_types: frozenset[str]


class Routes:
    """Where events go: the active subscriptions, reached through their tenants' codes."""

    def __init__(self, subscribers: Iterable[tuple[str, Subscriber]]) -> None:
        """From (tenant code, subscriber) pairs, in subscription order."""
        self._by_code: dict[str, list[tuple[int, Subscriber]]] = {}
        order: dict[str, int] = {}
        for code, sub in subscribers:
            rank = order.setdefault(sub.subscription_id, len(order))
            self._by_code.setdefault(code, []).append((rank, sub))

    def __bool__(self) -> bool:
        return bool(self._by_code)

    def subscribers(self, event_type: str, parties: Mapping[str, Any]) -> list[str]:
        """The subscriptions an event goes to: every active one that takes its type, of every
        tenant the event concerns (by its parties' codes), each once, in subscription order."""
        found: dict[str, int] = {}
        for code in party_codes(parties):
            for rank, sub in self._by_code.get(code, ()):
                if event_type in sub.event_types:
                    found[sub.subscription_id] = rank
        return sorted(found, key=found.__getitem__)


def payload(event_id: str, event_type: str, occurred_at: str, data: dict[str, Any]) -> str:
    """The JSON body a subscriber receives."""
    return json.dumps(
        {"id": event_id, "type": event_type, "occurredAt": occurred_at, "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
