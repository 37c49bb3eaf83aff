"""The envelope every Clearway event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.ids import uuid7

E = TypeVar("E")


def _must_be_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
        raise ValueError("occurred_at must be a UTC timestamp")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_must_be_utc)]


def utc_now() -> datetime:
    """The current time in UTC (the only clock used for envelopes)."""
    return datetime.now(UTC)


class Envelope(BaseModel, Generic[E]):
    """One event on the wire: identity, provenance and the partition key around a payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid7, description="Idempotency key for consumers")
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    producer: str = Field(
        min_length=1, max_length=64, description="Service that produced the event"
    )
    correlation_id: str = Field(
        min_length=1, max_length=128, description="Id of the originating request"
    )
    causation_id: str | None = Field(
        default=None, max_length=128, description="event_id or request id that caused this event"
    )
    key: str = Field(
        min_length=1, max_length=128, description="Partition key (orderNo, logisticsNo...)"
    )
    payload: E
