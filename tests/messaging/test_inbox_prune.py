"""A consumer's inbox keeps the events it handled for `inbox_keep_s`, not for ever."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from messaging import consumer
from messaging.settings import KafkaSettings
from schemas.envelope import utc_now
from schemas.topics import CUSTOMS_INBOUND
from tests.messaging.harness import (
    consumer_loop,
    effects,
    publish,
    received,
    running,
    runtime,
)
from tests.support import wait_for

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY = 24 * 3600.0


def _handled(engine, group: str, *ages_s: float, now: datetime = NOW) -> list[str]:
    """Inbox rows of `group`, one per age (seconds before `now`); their event ids."""
    ids = [str(uuid.uuid4()) for _ in ages_s]
    with engine.begin() as conn:
        conn.execute(
            insert(runtime.inbox),
            [
                {
                    "consumer_group": group,
                    "event_id": event_id,
                    "event_type": "customs.document_received.v1",
                    "processed_at": now - timedelta(seconds=age),
                }
                for event_id, age in zip(ids, ages_s, strict=True)
            ],
        )
    return ids


def _kept(engine) -> set[tuple[str, str]]:
    inbox = runtime.inbox
    with engine.connect() as conn:
        return set(conn.execute(select(inbox.c.consumer_group, inbox.c.event_id)).tuples())


def test_rows_older_than_the_keep_go_and_the_rest_and_other_groups_rows_stay(broker, engine):
    settings = broker.settings.model_copy(update={"inbox_keep_s": 8 * DAY})
    old = _handled(engine, "test-group", 9 * DAY, 8 * DAY + 1)
    young = _handled(engine, "test-group", 8 * DAY - 60, 1)
    others = _handled(engine, "another-group", 30 * DAY)
    loop = consumer_loop(engine, settings)
    assert loop.prune_inbox(NOW) == 2
    kept = _kept(engine)
    assert {("test-group", i) for i in young} | {("another-group", i) for i in others} == kept
    assert not {("test-group", i) for i in old} & kept
    assert loop.stats.inbox_pruned == 2
    assert loop.prune_inbox(NOW) == 0


def test_old_rows_go_a_chunk_at_a_time_and_a_turn_takes_a_few_chunks(
    broker, engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(consumer, "PRUNE_CHUNK", 3)
    settings = broker.settings.model_copy(update={"inbox_keep_s": DAY})
    _handled(engine, "test-group", *(2 * DAY + i for i in range(8)))
    loop = consumer_loop(engine, settings)  # built with chunks of 3
    assert loop.prune_inbox(NOW, chunks=2) == 6
    assert len(_kept(engine)) == 2
    assert loop.prune_inbox(NOW) == 2
    assert _kept(engine) == set()


def test_the_running_loop_prunes_what_it_wrote_once_older_than_the_keep_not_before(broker, engine):
    settings: KafkaSettings = broker.settings.model_copy(
        update={"inbox_keep_s": 3.0, "inbox_prune_interval_s": 0.2}
    )
    stale = _handled(engine, "test-group", 3 * DAY, now=utc_now())
    event = received()
    payload = (event.key.encode(), event.model_dump_json().encode())
    mine = ("test-group", str(event.event_id))
    with running(consumer_loop(engine, settings)) as loop:
        wait_for(lambda: loop.stats.inbox_pruned == 1)  # the stale row, at the first turn
        assert ("test-group", stale[0]) not in _kept(engine)
        publish(settings, CUSTOMS_INBOUND.name, payload)
        wait_for(lambda: loop.stats.processed == 1)
        publish(settings, CUSTOMS_INBOUND.name, payload)  # delivered again: its row is kept
        wait_for(lambda: loop.stats.duplicates == 1)
        assert mine in _kept(engine)
        wait_for(lambda: mine not in _kept(engine), timeout_s=10)  # older than 3 s: gone
        # the loop counts what a turn deleted once its transactions have committed
        wait_for(lambda: loop.stats.inbox_pruned >= 2)
        assert loop.stats.inbox_pruned == 2
    assert effects(engine, event.payload.document_id) == 1
