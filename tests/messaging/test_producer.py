"""The producer's partitioner: Kafka's key hashing, skipped only where it cannot matter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from kafka.partitioner import DefaultPartitioner

from messaging.producer import KeyPartitioner


@dataclass
class Partitions:
    """The part of kafka-python's ClusterMetadata a partitioner reads (topic -> partitions)."""

    by_topic: dict[str, set[int]]

    def topics(self) -> set[str]:
        return set(self.by_topic)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.by_topic.get(topic)

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.by_topic.get(topic, set())


KEYS = [f"ORDER{n:08d}".encode() for n in range(500)] + [b"", b"\xe4\xb8\xad\xe6\x96\x87"]


def test_several_partitions_get_the_default_partitioners_choice() -> None:
    cluster = Partitions({"customs.events": set(range(12))})
    ours, kafkas = KeyPartitioner(), DefaultPartitioner()
    chosen = [ours.partition("customs.events", k, k, b"v", b"v", cluster) for k in KEYS]
    assert chosen == [kafkas.partition("customs.events", k, k, b"v", b"v", cluster) for k in KEYS]
    assert len(set(chosen)) > 6  # the keys really are spread


def test_one_partition_is_chosen_without_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hash(data: bytes) -> int:
        raise AssertionError("hashed a key for a topic of one partition")

    monkeypatch.setattr("kafka.partitioner.default.murmur2", no_hash)
    cluster = Partitions({"risk.events": {3}})
    assert {KeyPartitioner().partition("risk.events", k, k, b"v", b"v", cluster) for k in KEYS} == {
        3
    }


def test_an_unknown_topic_is_refused_as_kafka_python_refuses_it() -> None:
    with pytest.raises(ValueError, match="not found"):
        KeyPartitioner().partition("nope", b"k", b"k", b"v", b"v", Partitions({}))
