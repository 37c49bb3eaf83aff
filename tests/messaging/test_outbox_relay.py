"""The outbox relay: events committed while the broker is down wait and are delivered later."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from clearway.broker import free_port, start_broker
from clearway.processes import stop
from customs import service
from customs.db import runtime
from messaging.admin import ensure_topics
from messaging.outbox import OutboxRelay
from messaging.settings import KafkaSettings
from messaging.worker import worker_producer
from schemas.topics import CUSTOMS_EVENTS, TOPICS
from tests.support import read_topic, sample, unsigned, wait_for


def _outbox_rows(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(runtime.outbox)).scalar_one())


def test_events_committed_while_the_broker_is_down_are_delivered_once_one_is_back(
    customs, customs_engine, tmp_path
):
    port = free_port()  # nothing listens here yet
    settings = KafkaSettings.embedded(f"127.0.0.1:{port}").model_copy(
        update={"max_block_ms": 500, "request_timeout_ms": 2000}
    )
    accepted = service.submit_message(
        customs, unsigned(sample("import", "CEB311Message")), correlation_id="corr-down"
    )
    assert _outbox_rows(customs_engine) == 6

    relay = OutboxRelay(
        engine=customs_engine,
        tables=runtime,
        producer_factory=lambda: worker_producer(settings),
        flush_timeout_s=2,
        max_backoff_s=0.5,
    )
    halt = threading.Event()
    thread = threading.Thread(target=relay.run, args=(halt,), daemon=True)
    thread.start()
    broker = None
    try:
        wait_for(lambda: relay.failures >= 2, timeout_s=20)
        assert relay.published == 0
        assert _outbox_rows(customs_engine) == 6  # nothing lost while the broker is away

        broker = start_broker(port, tmp_path / "late-broker.log")
        ensure_topics(settings, TOPICS)
        wait_for(lambda: _outbox_rows(customs_engine) == 0, timeout_s=30)
    finally:
        halt.set()
        thread.join(timeout=10)
        try:
            records = read_topic(settings, CUSTOMS_EVENTS.name, 6) if broker else []
        finally:
            if broker is not None:
                stop(broker)

    ids = [json.loads(r.value)["payload"]["document_id"] for r in records]
    assert sorted(ids) == sorted(d.reference for d in accepted.documents)
    assert all(r.key == b"order20160321116421002" for r in records)
    # decided on arrival: the first order accepted, the five with its orderNo again refused
    types = sorted(dict(r.headers)["event_type"] for r in records)
    assert types == [b"customs.document_accepted.v1"] + [b"customs.document_rejected.v1"] * 5
    assert all(dict(r.headers)["correlation_id"] == b"corr-down" for r in records)
