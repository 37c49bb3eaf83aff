"""The outbox relay: events committed while the broker is down wait and are delivered later."""

from __future__ import annotations

import json
import threading
import time
import uuid

from sqlalchemy import Engine, func, select

from clearway.broker import free_port, start_broker
from clearway.processes import stop
from customs import service
from customs.db import runtime
from messaging.admin import ensure_topics
from messaging.outbox import OutboxRelay, stage
from messaging.settings import KafkaSettings
from messaging.worker import worker_producer
from schemas.topics import CUSTOMS_EVENTS, CUSTOMS_INBOUND, TOPICS
from tests.messaging.harness import make_database, received
from tests.messaging.harness import runtime as harness_runtime
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

    payloads = [json.loads(r.value)["payload"] for r in records]
    ids = [d["document_id"] for p in payloads for d in p.get("documents", [p])]
    assert sorted(ids) == sorted(d.reference for d in accepted.documents)
    assert all(r.key == b"order20160321116421002" for r in records)
    # decided on arrival: the first order accepted, the five with its orderNo again refused
    types = sorted(dict(r.headers)["event_type"] for r in records)
    assert types == [b"customs.document_rejected.v1"] * 5 + [b"customs.documents_accepted.v1"]
    assert all(dict(r.headers)["correlation_id"] == b"corr-down" for r in records)


# --- SQLite: the relay never waits for the database's one write lock ----------------------------


def _sqlite_relay(tmp_path, settings, **kwargs) -> tuple[Engine, OutboxRelay]:
    engine = make_database(f"sqlite:///{tmp_path / 'relay.db'}")
    relay = OutboxRelay(
        engine=engine,
        tables=harness_runtime,
        producer_factory=lambda: worker_producer(settings),
        **kwargs,
    )
    return engine, relay


def _stage(engine: Engine, count: int) -> list[str]:
    envelopes = [received(key=f"order-{uuid.uuid4()}") for _ in range(count)]
    with engine.begin() as conn:
        stage(conn, harness_runtime, envelopes)
    return [str(e.event_id) for e in envelopes]


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        outbox = harness_runtime.outbox
        return list(conn.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars())


def _event_ids(records) -> list[str]:
    return sorted(json.loads(r.value)["event_id"] for r in records)


def test_the_relay_publishes_while_another_connection_holds_the_write_lock(broker, tmp_path):
    engine, relay = _sqlite_relay(tmp_path, broker.settings, clean_interval_s=0)
    first = _stage(engine, 3)
    holder = engine.raw_connection()
    try:
        holder.execute("BEGIN IMMEDIATE")  # what a busy API or consumer does all the time
        started = time.monotonic()
        assert relay.publish_once() == 3
        assert time.monotonic() - started < 5  # its busy timeout is 30 s: it did not wait
        assert relay.clean_deferred == 1
        assert len(_ids(engine)) == 3  # sent, deleted once the lock is free
        assert relay.publish_once() == 0  # and not sent again meanwhile
    finally:
        holder.rollback()
        holder.close()
    second = _stage(engine, 2)
    assert relay.publish_once() == 2
    assert _ids(engine) == []
    records = read_topic(broker.settings, CUSTOMS_INBOUND.name, 5)
    assert _event_ids(records) == sorted(first + second)
    assert relay.published == 5


def test_ids_starting_again_once_the_outbox_is_empty_are_still_published(broker, tmp_path):
    engine, relay = _sqlite_relay(tmp_path, broker.settings, clean_interval_s=0)
    first = _stage(engine, 2)
    assert _ids(engine) == [1, 2]
    assert relay.publish_once() == 2
    assert _ids(engine) == []
    second = _stage(engine, 2)
    assert _ids(engine) == [1, 2]  # SQLite gives the ids of the deleted rows again
    assert relay.publish_once() == 2
    records = read_topic(broker.settings, CUSTOMS_INBOUND.name, 4)
    assert _event_ids(records) == sorted(first + second)


def test_rows_staged_while_sent_rows_wait_to_be_deleted_keep_higher_ids(broker, tmp_path):
    engine, relay = _sqlite_relay(tmp_path, broker.settings, clean_interval_s=3600)
    first = _stage(engine, 2)
    assert relay.publish_once() == 2  # cleaned right away (the first time)
    second = _stage(engine, 2)  # ids 1, 2 again
    assert relay.publish_once() == 2  # sent; deleting waits for the interval
    third = _stage(engine, 1)
    assert _ids(engine) == [1, 2, 3]
    assert relay.publish_once() == 1
    records = read_topic(broker.settings, CUSTOMS_INBOUND.name, 5)
    assert _event_ids(records) == sorted(first + second + third)
