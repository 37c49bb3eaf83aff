"""The shared consumer loop on the real broker, against SQLite and PostgreSQL."""

from __future__ import annotations

import json

from messaging.consumer import HandlerContext, TechnicalError
from schemas.events import DocumentReceivedV1
from schemas.topics import CUSTOMS_INBOUND
from tests.messaging.harness import (
    consumer_loop,
    effects,
    publish,
    received,
    record_effect,
    running,
)
from tests.support import read_topic, wait_for

TOPIC = CUSTOMS_INBOUND.name


def _bytes(envelope) -> tuple[bytes, bytes]:
    return envelope.key.encode(), envelope.model_dump_json().encode()


def _trickle(settings, events, gap_s: float = 0.04) -> None:
    """Publish `events` one at a time, `gap_s` apart (30 events: about 1.2 s, one record batch
    each)."""
    import time

    from messaging.producer import build_producer

    producer = build_producer(settings, client_id="test-producer")
    try:
        for event in events:
            producer.send(TOPIC, key=event.key.encode(), value=_bytes(event)[1]).get(timeout=10)
            time.sleep(gap_s)
    finally:
        producer.close(timeout=5)


def test_an_event_is_consumed_and_handled_once(broker, engine):
    event = received()
    with running(consumer_loop(engine, broker.settings)) as loop:
        publish(broker.settings, TOPIC, _bytes(event))
        wait_for(lambda: loop.stats.processed == 1)
    assert effects(engine, event.payload.document_id) == 1


def test_the_same_event_delivered_twice_has_one_effect(broker, engine):
    event = received()
    other = received()
    with running(consumer_loop(engine, broker.settings)) as loop:
        publish(broker.settings, TOPIC, _bytes(event), _bytes(event), _bytes(other))
        wait_for(lambda: loop.stats.processed + loop.stats.duplicates == 3)
        publish(broker.settings, TOPIC, _bytes(event))  # a later redelivery, in another batch
        wait_for(lambda: loop.stats.duplicates == 2)
    assert effects(engine, event.payload.document_id) == 1
    assert effects(engine, other.payload.document_id) == 1
    assert loop.stats.processed == 2


def _dlq_records(settings, count: int):
    return read_topic(settings, CUSTOMS_INBOUND.dlq, count)


def test_a_poison_message_goes_to_the_dlq_and_the_next_message_is_still_processed(broker, engine):
    after = received(key="order-1")
    invalid = received(key="order-1").model_dump(mode="json")
    invalid["payload"]["message_type"] = "not a CEB type"
    with running(consumer_loop(engine, broker.settings)) as loop:
        publish(
            broker.settings,
            TOPIC,
            (b"order-1", b"{not json"),
            (b"order-1", json.dumps(invalid).encode()),
            _bytes(after),
        )
        wait_for(lambda: loop.stats.processed == 1 and loop.stats.dead_lettered == 2)
    assert effects(engine, after.payload.document_id) == 1
    dlq = _dlq_records(broker.settings, 2)
    assert dlq[0].value == b"{not json"
    headers = dict(dlq[1].headers)
    assert b"message_type" in headers["dlq.error"]
    assert headers["dlq.topic"] == TOPIC.encode()
    assert headers["dlq.consumer_group"] == b"test-group"


def test_a_handler_that_fails_on_its_message_sends_only_that_message_to_the_dlq(broker, engine):
    bad, good = received(), received()

    def handler(ctx: HandlerContext, event: DocumentReceivedV1) -> None:
        if event.document_id == bad.payload.document_id:
            raise ValueError("orderNo rule broken")
        record_effect(ctx, event)

    with running(consumer_loop(engine, broker.settings, handler)) as loop:
        publish(broker.settings, TOPIC, _bytes(bad), _bytes(good))
        wait_for(lambda: loop.stats.processed == 1 and loop.stats.dead_lettered == 1)
    assert effects(engine) == 1
    assert effects(engine, good.payload.document_id) == 1
    (record,) = _dlq_records(broker.settings, 1)
    assert b"orderNo rule broken" in dict(record.headers)["dlq.error"]


def test_unknown_event_types_are_skipped_and_counted(broker, engine):
    unknown = received().model_dump(mode="json")
    unknown["payload"]["type"] = "customs.something_new.v9"
    known = received()
    with running(consumer_loop(engine, broker.settings)) as loop:
        publish(broker.settings, TOPIC, (b"k", json.dumps(unknown).encode()), _bytes(known))
        wait_for(lambda: loop.stats.processed == 1)
    assert loop.stats.skipped_unknown == 1
    assert loop.stats.dead_lettered == 0
    assert effects(engine) == 1


def test_a_record_whose_header_names_a_type_not_handled_is_skipped_unread(broker, engine):
    known = received()
    with running(consumer_loop(engine, broker.settings)) as loop:
        # not even JSON: read, it would go to the DLQ; its header says it is not for this service
        publish(
            broker.settings,
            TOPIC,
            (b"k", b"{not json"),
            headers=[("event_type", b"customs.something_new.v9")],
        )
        publish(broker.settings, TOPIC, _bytes(known))
        wait_for(lambda: loop.stats.processed == 1)
    assert loop.stats.skipped_unknown == 1
    assert loop.stats.dead_lettered == 0


def test_a_record_whose_header_names_a_handled_type_is_still_validated(broker, engine):
    invalid = received().model_dump(mode="json")
    del invalid["payload"]["message_type"]
    named = [("event_type", invalid["payload"]["type"].encode())]
    with running(consumer_loop(engine, broker.settings)) as loop:
        publish(broker.settings, TOPIC, (b"k", json.dumps(invalid).encode()), headers=named)
        wait_for(lambda: loop.stats.dead_lettered == 1)
    assert loop.stats.processed == 0
    (record,) = _dlq_records(broker.settings, 1)
    error = dict(record.headers)["dlq.error"]
    assert error.startswith(b"invalid customs.document_received.v1") and b"message_type" in error


def test_technical_errors_are_retried_with_backoff_until_the_handler_succeeds(broker, engine):
    event = received()
    failures = [TechnicalError("database restarting"), TimeoutError("slow disk")]

    def flaky(ctx: HandlerContext, payload: DocumentReceivedV1) -> None:
        if failures:
            raise failures.pop(0)
        record_effect(ctx, payload)

    with running(consumer_loop(engine, broker.settings, flaky)) as loop:
        publish(broker.settings, TOPIC, _bytes(event))
        wait_for(lambda: loop.stats.processed == 1)
    assert loop.stats.technical_retries == 2
    assert loop.stats.dead_lettered == 0
    assert effects(engine, event.payload.document_id) == 1


def test_effects_and_follow_up_events_of_a_failed_batch_are_rolled_back(broker, engine):
    event = received()

    def emits_then_fails(ctx: HandlerContext, payload: DocumentReceivedV1) -> None:
        record_effect(ctx, payload)
        raise ValueError("rule broken after writing")

    with running(consumer_loop(engine, broker.settings, emits_then_fails)) as loop:
        publish(broker.settings, TOPIC, _bytes(event))
        wait_for(lambda: loop.stats.dead_lettered == 1)
    assert effects(engine) == 0


def test_a_batch_slower_than_max_poll_interval_loses_no_event_and_stops_nothing(broker, engine):
    """The group drops a consumer whose batch outlasts max_poll_interval_ms: its offsets are
    then refused, but the batch is in the database; the loop rejoins and the inbox skips the
    redelivered events."""
    import time

    slow_first = []

    def slow(ctx: HandlerContext, event: DocumentReceivedV1) -> None:
        if not slow_first:
            slow_first.append(event.document_id)
            time.sleep(broker.settings.max_poll_interval_ms / 1000 + 1.5)
        record_effect(ctx, event)

    events = [received(key=f"order-{n}") for n in range(5)]
    with running(consumer_loop(engine, broker.settings, handler=slow)) as loop:
        publish(broker.settings, TOPIC, *(_bytes(e) for e in events))
        wait_for(lambda: loop.stats.refused_commits >= 1, timeout_s=20)
        late = received(key="order-9")
        publish(broker.settings, TOPIC, _bytes(late))
        wait_for(lambda: effects(engine, late.payload.document_id) == 1, timeout_s=20)
    assert [effects(engine, e.payload.document_id) for e in events] == [1] * 5
    assert loop.stats.processed == 6


def test_a_batched_handler_gets_the_new_events_of_a_batch_in_one_call_in_topic_order(
    broker, engine
):
    """Duplicates are left out before the call; each event keeps its own context, so what the
    handler emits for one event is caused by that event."""
    from messaging.consumer import Batched

    calls: list[list[str]] = []

    def handle(run) -> None:
        calls.append([str(payload.document_id) for _, payload in run])
        for ctx, payload in run:
            assert ctx.envelope.payload is payload
            record_effect(ctx, payload)

    events = [received(key="order-1") for _ in range(6)]  # one key: one partition, one order
    sent = [events[0], events[1], events[0], *events[2:]]
    publish(broker.settings, TOPIC, *(_bytes(e) for e in sent))  # waiting before the loop starts
    with running(consumer_loop(engine, broker.settings, Batched(handle))) as loop:
        wait_for(lambda: loop.stats.processed + loop.stats.duplicates == len(sent))
    handled = [document for call in calls for document in call]
    assert handled == [str(e.payload.document_id) for e in events]
    assert len(calls) == 1
    assert all(effects(engine, e.payload.document_id) == 1 for e in events)


def test_a_paced_loop_reads_at_most_once_per_interval_and_loses_nothing(broker, engine):
    """A consumer off the decision path (poll_interval_s) handles what arrived meanwhile in one
    batch: events published every 40 ms reach it in a few batches at least an interval apart,
    each handled once."""
    import time
    from itertools import pairwise

    from messaging.consumer import Batched

    calls: list[tuple[float, int]] = []

    def handle(run) -> None:
        calls.append((time.monotonic(), len(run)))
        for ctx, payload in run:
            record_effect(ctx, payload)

    events = [received(key="order-1") for _ in range(30)]
    interval = 0.5
    loop = consumer_loop(engine, broker.settings, Batched(handle), poll_interval_s=interval)
    with running(loop):
        wait_for(loop.assigned.is_set)
        _trickle(broker.settings, events)
        wait_for(lambda: loop.stats.processed == len(events))
    assert all(effects(engine, e.payload.document_id) == 1 for e in events)
    assert sum(size for _, size in calls) == len(events)
    gaps = [later - earlier for (earlier, _), (later, _) in pairwise(calls)]
    # a poll waits up to 0.1 s for records, so one batch may come that much late after its poll
    assert all(gap >= interval - 0.15 for gap in gaps), gaps
    assert len(calls) <= 6, calls


def test_offsets_are_committed_once_per_interval_under_traffic_and_all_of_them_when_idle(
    broker, engine
):
    """Records arriving every 40 ms come in many small batches, but their offsets are committed
    at most once per commit interval; once no more come, everything handled is committed: the
    group's committed offset is the end of the partition, and a consumer of the group started
    afterwards reads only what was published since."""

    from kafka import KafkaConsumer, TopicPartition

    settings = broker.settings.model_copy(update={"commit_interval_ms": 500})
    events = [received(key="order-1") for _ in range(30)]
    with running(consumer_loop(engine, settings)) as loop:
        wait_for(loop.assigned.is_set)
        _trickle(settings, events)
        wait_for(lambda: loop.stats.processed == len(events))
        partition = TopicPartition(TOPIC, 0)
        reader = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id="test-group")
        try:
            end = reader.end_offsets([partition])[partition]
            wait_for(lambda: reader.committed(partition) == end)  # while the loop still runs
        finally:
            reader.close()
        batches, commits = loop.stats.batches, loop.stats.offset_commits
    assert batches >= 10, batches
    # under traffic once per 0.5 s (about 1.2 s of it), then once when it ran out of records
    assert commits <= 5, (commits, batches)

    late = received(key="order-2")
    publish(settings, TOPIC, _bytes(late))
    with running(consumer_loop(engine, settings)) as again:
        wait_for(lambda: effects(engine, late.payload.document_id) == 1)
    assert (again.stats.processed, again.stats.duplicates) == (1, 0)
    assert all(effects(engine, e.payload.document_id) == 1 for e in events)
