"""Topic administration: create every registered topic (and its DLQ) with its partition count."""

from __future__ import annotations

import time
from collections.abc import Sequence

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from messaging.settings import KafkaSettings
from schemas.topics import Topic

DLQ_PARTITIONS = 1


def ensure_topics(
    settings: KafkaSettings, topics: Sequence[Topic], *, timeout_s: float = 30
) -> None:
    """Create the topics and their DLQs that do not exist yet; waits for the broker to answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=settings.bootstrap_servers.split(","),
                client_id="clearway-admin",
                request_timeout_ms=10_000,
            )
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(t.name, settings.topic_partitions or t.partitions, 1) for t in topics]
        wanted += [NewTopic(t.dlq, DLQ_PARTITIONS, 1) for t in topics]
        missing = [t for t in wanted if t.name not in existing]
        for new_topic in missing:
            try:
                admin.create_topics([new_topic])
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process
            except KafkaError as exc:
                if "already exists" not in str(exc).lower():
                    raise
    finally:
        admin.close()
