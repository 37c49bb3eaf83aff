"""Webhooks: which events go to which tenant, and when a failed delivery is tried again.

A delivery that fails is retried after 30 s, 1, 2, 4 ... minutes (doubling, at most an hour
apart) until it succeeds or a day has passed since the event; then it is marked failed, and stays
in the delivery log where it can be replayed by hand.
"""

from __future__ import annotations

import json
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


def codes_of(data: dict[str, Any]) -> set[str]:
    """The enterprise codes an event concerns (its `parties`)."""
    parties = data.get("parties") or {}
    return {code for code in parties.values() if isinstance(code, str) and code}


def payload(event_id: str, event_type: str, occurred_at: str, data: dict[str, Any]) -> str:
    """The JSON body a subscriber receives."""
    return json.dumps(
        {"id": event_id, "type": event_type, "occurredAt": occurred_at, "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
