"""The topic registry: every topic, its partition count and the events it carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    """A Kafka topic owned by one producing service."""

    name: str
    partitions: int
    owner: str
    events: tuple[str, ...]

    @property
    def dlq(self) -> str:
        """Where a consumer parks messages it cannot process."""
        return f"{self.name}.dlq"


CUSTOMS_INBOUND = Topic(
    name="customs.inbound",
    partitions=12,
    owner="customs",
    events=("customs.document_received.v1",),
)
CUSTOMS_EVENTS = Topic(
    name="customs.events",
    partitions=12,
    owner="customs",
    events=(
        "customs.document_accepted.v1",  # published before customs.documents_accepted.v1
        "customs.documents_accepted.v1",
        "customs.document_rejected.v1",
        "customs.declaration_ready.v1",
        "customs.clearance_changed.v1",
        "customs.clearances_changed.v1",
        "customs.inspection_concluded.v1",
    ),
)
RISK_EVENTS = Topic(
    name="risk.events",
    partitions=12,
    owner="risk",
    events=("risk.assessed.v1",),
)

TOPICS: tuple[Topic, ...] = (CUSTOMS_INBOUND, CUSTOMS_EVENTS, RISK_EVENTS)


def topic_for_event(event_type: str) -> Topic:
    """The one topic an event type is published on."""
    for topic in TOPICS:
        if event_type in topic.events:
            return topic
    raise KeyError(f"no topic carries event type {event_type!r}")
