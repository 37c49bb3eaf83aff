"""Kafka settings shared by every service (environment prefix KAFKA_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """How to reach the broker and how consumers behave on it."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    # Under steady traffic the embedded broker answers a fetch about when fetch_max_wait_ms
    # expires (only a record arriving after an idle spell answers it sooner: measured with a
    # 250 ms wait, p50 5 ms after idle, 63 ms with a record every 5-30 ms), and it completes a
    # group join after about half of the session timeout (measured: 6 s -> 3 s, 2 s -> 1 s,
    # never under 1 s): both stay small on the decision path.
    fetch_max_wait_ms: int = 20
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_poll_records: int = 500
    # A consumer commits its offsets at most this often while records keep coming (at once
    # when it runs out of them, and when it stops): see ConsumerLoop.run.
    commit_interval_ms: int = 1_000
    request_timeout_ms: int = 30_000
    # A consumer's inbox (one row per event it handled) exists to skip an event delivered again:
    # after a crash or a rebalance before the offsets were committed (seconds), or after a group
    # idle for longer than the broker keeps its offsets (Kafka's offsets.retention.minutes,
    # 7 days by default), when it reads its topics again from the earliest record they keep
    # (log.retention, 7 days by default). Rows older than this are deleted, a batch at a time,
    # once per prune interval: keep it longer than the topics keep their records.
    inbox_keep_s: float = 8 * 24 * 3600.0
    inbox_prune_interval_s: float = 3600.0
    # How long a producer may block waiting for metadata before the relay backs off and retries.
    max_block_ms: int = 5_000
    linger_ms: int = 2
    # Partitions of the topics the platform creates: None gives each topic its count in
    # schemas/topics.py (room for that many consumers of a group). A broker serving one worker
    # per service gains nothing from more than one: each partition only splits what a request
    # carries into smaller record batches, and the broker and every consumer pay per batch
    # (bench.e2e, embedded, 150 declarations/s: 12 partitions 174% CPU, 3: 149%; 200/s: 181/s
    # decided with 12, 198/s with 1, p99 6.4 s -> 1.0 s).
    topic_partitions: int | None = None

    @classmethod
    def embedded(cls, bootstrap_servers: str) -> KafkaSettings:
        """Settings tuned for the embedded single-node broker (fast group joins)."""
        return cls(
            bootstrap_servers=bootstrap_servers,
            # a polled batch must be handled well within max_poll_interval_ms, or the group
            # drops the consumer (a second of no consumption while it rejoins); the batched hot
            # paths take ~1 ms per record (bench.customs_worker, bench.risk_worker)
            max_poll_records=500,
            max_poll_interval_ms=2_000,
            topic_partitions=1,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=300,
        )

    def as_env(self) -> dict[str, str]:
        """These settings as KAFKA_* environment variables for a child process."""
        return {
            f"KAFKA_{name.upper()}": str(value)
            for name, value in self.model_dump().items()
            if value is not None
        }
