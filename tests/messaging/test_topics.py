"""Topics as the platform creates them: the registry's partitions, or the broker's setting."""

from __future__ import annotations

from kafka import KafkaConsumer

from clearway.broker import free_port, start_broker
from clearway.processes import stop
from messaging.admin import ensure_topics
from messaging.settings import KafkaSettings
from schemas.topics import TOPICS


def _partitions(settings: KafkaSettings) -> dict[str, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers.split(","))
    try:
        return {t.name: len(consumer.partitions_for_topic(t.name) or ()) for t in TOPICS}
    finally:
        consumer.close()


def test_the_embedded_broker_gets_one_partition_a_topic(broker):
    # the broker fixture creates the topics with the embedded settings
    assert broker.settings.topic_partitions == 1
    assert _partitions(broker.settings) == {t.name: 1 for t in TOPICS}


def test_without_the_setting_each_topic_gets_its_registry_count(tmp_path):
    port = free_port()
    process = start_broker(port, tmp_path / "broker.log")
    try:
        settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
        assert settings.topic_partitions is None
        ensure_topics(settings, TOPICS)
        assert _partitions(settings) == {t.name: t.partitions for t in TOPICS}
        assert {t.partitions for t in TOPICS} == {12}
    finally:
        stop(process)


def test_the_setting_reaches_child_processes_only_when_set():
    assert KafkaSettings.embedded("127.0.0.1:1").as_env()["KAFKA_TOPIC_PARTITIONS"] == "1"
    assert "KAFKA_TOPIC_PARTITIONS" not in KafkaSettings().as_env()
