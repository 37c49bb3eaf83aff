"""Transactional outbox: stage events with the state change, publish them from a relay."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from messaging.rows import write_rows
from messaging.tables import RuntimeTables
from schemas.envelope import Envelope, utc_now
from schemas.events import event_type
from schemas.topics import topic_for_event

log = logging.getLogger(__name__)
# How long a relay waits between looks at its outbox for rows another process commits (rows its
# own process commits wake it at once, and so do other processes', `doorbell`: this poll is what
# finds them where no doorbell could be had). Measured with bench.e2e at 150 declarations/s:
# every 5 ms sent about one event per partition per request, and the broker and each consumer
# pay per record batch (broker +10% of a core, risk worker +4%, p99 1.4-5 s); every 50 ms sends
# what came meanwhile together (p99 0.56 s, CPU as before); 100 ms was no better.
MAX_IDLE_SLEEP_S = 0.05

ProducerFactory = Callable[[], KafkaProducer]


def _event_headers(event_type_name: str, correlation_id: str) -> list[tuple[str, bytes]]:
    return [
        ("event_type", event_type_name.encode()),
        ("correlation_id", correlation_id.encode()),
        ("content-type", b"application/json"),
    ]


def stage(
    db: Session | Connection, tables: RuntimeTables, envelopes: Sequence[Envelope[Any]]
) -> None:
    """Write events to the outbox inside the caller's transaction (published after it commits)."""
    if not envelopes:
        return
    now = utc_now()
    rows = []
    for envelope in envelopes:
        name = event_type(envelope.payload)
        rows.append(
            {
                "event_id": str(envelope.event_id),
                "topic": topic_for_event(name).name,
                "key": envelope.key,
                "event_type": name,
                "correlation_id": envelope.correlation_id,
                "body": envelope.model_dump_json(),
                "created_at": now,
            }
        )
    write_rows(db, _insert(tables.outbox), rows)
    if _dialect(db) == "postgresql":
        db.execute(_NOTIFY)  # delivered when the transaction commits, never if it rolls back


@cache
def _insert(table: Table) -> Insert:
    """The outbox's INSERT, built once per table (hot paths keep their statements)."""
    return insert(table)


# PostgreSQL: the channel a relay LISTENs on for outbox rows any process commits (`doorbell`).
OUTBOX_CHANNEL = "clearway_outbox"
_NOTIFY = text(f"NOTIFY {OUTBOX_CHANNEL}")


def _dialect(db: Session | Connection) -> str:
    bind = db if isinstance(db, Connection) else db.get_bind()
    return bind.dialect.name


class OutboxRelay:
    """Publishes committed outbox rows in order and deletes them once the broker acknowledged."""

    def __init__(
        self,
        *,
        engine: Engine,
        tables: RuntimeTables,
        producer_factory: ProducerFactory,
        batch_size: int = 500,
        idle_sleep_s: float = MAX_IDLE_SLEEP_S,
        max_idle_sleep_s: float = MAX_IDLE_SLEEP_S,
        max_backoff_s: float = 5.0,
        flush_timeout_s: float = 30.0,
        clean_interval_s: float = 0.25,
    ) -> None:
        self._engine = engine
        self._tables = tables
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._batch_size = batch_size
        self._idle_sleep_s = idle_sleep_s
        self._max_idle_sleep_s = max(idle_sleep_s, max_idle_sleep_s)
        self._wake = threading.Event()
        self._max_backoff_s = max_backoff_s
        self._flush_timeout_s = flush_timeout_s
        self.published = 0
        self.failures = 0
        self.last_error: str | None = None
        # Several relays may share a PostgreSQL database; they split the rows between them.
        self._skip_locked = engine.dialect.name == "postgresql"
        # SQLite: the last id sent, the last deleted, and when to delete sent rows next.
        self._after = self._cleaned = 0
        self._clean_interval_s = clean_interval_s
        self._next_clean = 0.0
        self.clean_deferred = 0
        # built once: building a statement costs more than executing it
        outbox = tables.outbox
        self._locked_rows = self._waiting().with_for_update(skip_locked=True)
        self._rows_after = self._waiting().where(outbox.c.id > bindparam("after"))
        self._delete_sent = delete(outbox).where(outbox.c.id <= bindparam("sent"))
        self._last_id = select(func.max(outbox.c.id))

    def publish_once(self) -> int:
        """Publish one batch of waiting events; the number published (0 when none wait)."""
        if self._skip_locked:
            return self._publish_locked()
        return self._publish_after_cursor()

    def _waiting(self) -> Select[Any]:
        outbox = self._tables.outbox
        return (
            select(
                outbox.c.id,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.event_type,
                outbox.c.correlation_id,
                outbox.c.body,
            )
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )

    def _send(self, rows: Sequence[Row[Any]]) -> None:
        """Send rows to the broker and wait for its acknowledgement of every one (or raise)."""
        producer = self._ensure_producer()
        futures = [
            producer.send(
                row.topic,
                key=row.key.encode(),
                value=row.body.encode(),
                headers=_event_headers(row.event_type, row.correlation_id),
            )
            for row in rows
        ]
        producer.flush(timeout=self._flush_timeout_s)
        for future in futures:
            future.get(timeout=0)  # raises the broker's error, if any; the rows then stay

    def _publish_locked(self) -> int:
        """PostgreSQL: rows locked by this relay (skipping those another relay holds), sent,
        then deleted in the same transaction."""
        outbox = self._tables.outbox
        with self._engine.begin() as conn:
            rows = conn.execute(self._locked_rows).all()
            if not rows:
                return 0
            self._send(rows)
            conn.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
        self.published += len(rows)
        return len(rows)

    def _publish_after_cursor(self) -> int:
        """SQLite: the rows after the last one published, read without taking the write lock.

        SQLite has one writer at a time, so ids are committed in increasing order and a cursor
        over them misses nothing. Deleting what was sent needs the write lock, which the
        service's API or consumer holds most of the time under load: waiting for it after
        every batch would hold up every event behind. So sent rows are deleted apart, at most
        every `clean_interval_s`.
        """
        with self._engine.connect() as conn:
            rows = conn.execute(self._rows_after, {"after": self._after}).all()
        if rows:
            self._send(rows)
            self._after = rows[-1].id
            self.published += len(rows)
        if self._after > self._cleaned and time.monotonic() >= self._next_clean:
            self._next_clean = time.monotonic() + self._clean_interval_s
            self._clean()
        return len(rows)

    def _clean(self) -> None:
        """Delete the rows sent so far. The delete waits its turn among the platform's writers
        (`clearway.sqlite_writers`) but not behind a writer outside them (a busy timeout of 0):
        then the rows are left for a later round.

        Ids are never reused while a row above them remains; once the outbox is empty SQLite
        starts again from 1, and so does the cursor.
        """
        sent = self._after
        try:
            with self._engine.begin() as conn:
                held = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
                conn.exec_driver_sql("PRAGMA busy_timeout = 0")
                try:
                    conn.execute(self._delete_sent, {"sent": sent})
                    emptied = conn.execute(self._last_id).scalar() is None
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(held)}")
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            self.clean_deferred += 1
            return
        self._cleaned = sent
        if emptied:
            self._after = self._cleaned = 0

    def wake(self) -> None:
        """Rows were just committed in this process: look now rather than at the next poll."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set, backing off while the broker is unreachable.

        After a round that found less than a full batch the relay waits `idle_sleep_s`, and
        while the outbox stays empty the wait doubles up to `max_idle_sleep_s`; `wake()` cuts
        the wait short.
        """
        backoff = 0.1
        idle = self._idle_sleep_s
        while not stop.is_set():
            try:
                count = self.publish_once()
                backoff = 0.1
                self.last_error = None
                if count < self._batch_size:
                    idle = self._idle_sleep_s if count else min(idle * 2, self._max_idle_sleep_s)
                    self._wake.wait(idle)
                    self._wake.clear()
            except Exception as exc:  # the broker or database may be down: keep the rows, retry
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, self.last_error)
                self._reset_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
        self._reset_producer()

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._producer_factory()
        return self._producer

    def _reset_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # closing a broken producer must not stop the relay
                log.debug("closing producer failed", exc_info=True)
            self._producer = None
