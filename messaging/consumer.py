"""The one consumer loop: batches, inbox de-duplication, DLQ for poison, retries for outages."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, bindparam, delete, insert, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from messaging.outbox import stage
from messaging.rows import write_rows
from messaging.settings import KafkaSettings
from messaging.tables import RuntimeTables
from schemas.envelope import Envelope, utc_now
from schemas.events import EnvelopeAdapter, Event
from schemas.topics import Topic

log = logging.getLogger(__name__)

# The inbox's old rows go PRUNE_CHUNK at a time (one short transaction each: the SQLite writer
# lock is held briefly), at most PRUNE_CHUNKS_PER_TURN between two polls.
PRUNE_CHUNK = 2_000
PRUNE_CHUNKS_PER_TURN = 10

# Pydantic caches the parametrised `Envelope[Any]` weakly: once no envelope is left, the garbage
# collector takes it and the next emit builds it again (its schema: milliseconds, dozens of
# times a minute in a busy worker). Held here, it stays built for every service.
ANY_ENVELOPE: type[Envelope[Any]] = Envelope[Any]


class TechnicalError(Exception):
    """A failure of the surroundings (database, network), not of the message: worth retrying."""


@dataclass
class HandlerContext:
    """What a handler gets: the open session and a way to emit follow-up events atomically."""

    session: Session
    envelope: Envelope[Any]
    service: str
    _tables: RuntimeTables
    _staged: list[Envelope[Any]] = field(default_factory=list)
    # The envelope's event id as text, where the consumer has made it already (a UUID's text
    # costs about 4,000 instructions, and every event a handler emits names it as its cause).
    event_id: str | None = None

    def emit(self, event: BaseModel, *, key: str) -> None:
        """Publish `event` once this handler's transaction commits (caused by the current event)."""
        correlation_id, causation_id = self.causes()
        self._staged.append(
            ANY_ENVELOPE(
                producer=self.service,
                correlation_id=correlation_id,
                causation_id=causation_id,
                key=key,
                payload=event,
            )
        )

    def causes(self) -> tuple[str, str]:
        """The correlation and causation ids of the events the handler emits: its event's."""
        event_id = self.event_id
        if event_id is None:
            event_id = str(self.envelope.event_id)
        return self.envelope.correlation_id, event_id

    def flush_staged(self) -> None:
        stage(self.session, self._tables, self._staged)
        self._staged.clear()


Handler = Callable[[HandlerContext, Any], None]


@dataclass(frozen=True)
class Batched:
    """A handler that takes a run of consecutive events of its types in one call.

    `handle` gets `(context, payload)` pairs in topic order, each context with the shared
    session and its own envelope (so what it emits is caused by that event). It must have the
    same effect as handling the events one after the other: it is how a hot path reads and
    writes a whole batch in a few statements instead of a few statements per event.
    """

    handle: Callable[[Sequence[tuple[HandlerContext, Any]]], None]


HandlerTable = Mapping[type[BaseModel], Handler | Batched]


@dataclass
class ConsumerStats:
    """Counters a worker exposes on its health endpoint."""

    processed: int = 0
    duplicates: int = 0
    skipped_unknown: int = 0
    dead_lettered: int = 0
    technical_retries: int = 0
    batches: int = 0
    refused_commits: int = 0
    offset_commits: int = 0
    inbox_pruned: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for technical errors."""

    attempts: int = 5
    first_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def delays(self) -> list[float]:
        return [min(self.first_delay_s * 2**n, self.max_delay_s) for n in range(self.attempts - 1)]


@dataclass
class _Decoded:
    record: ConsumerRecord
    envelope: Envelope[Any] | None = None
    handler: Handler | Batched | None = None
    error: str | None = None


def _is_technical(exc: BaseException) -> bool:
    if isinstance(exc, TechnicalError | OperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class ConsumerLoop:
    """Consumes topics for one service with its handler table; one transaction per batch."""

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: Sequence[Topic],
        handlers: HandlerTable,
        engine: Engine,
        tables: RuntimeTables,
        settings: KafkaSettings,
        producer_factory: Callable[[], KafkaProducer],
        retry: RetryPolicy | None = None,
        on_db_commit: Callable[[], None] | None = None,
        poll_interval_s: float = 0.0,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.topics = {t.name: t for t in topics}
        self._handlers = {
            str(cls.model_fields["type"].default): handler for cls, handler in handlers.items()
        }
        self._engine = engine
        self._tables = tables
        self._settings = settings
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._retry = retry or RetryPolicy()
        self._on_db_commit = on_db_commit
        self._poll_interval_s = poll_interval_s
        self.stats = ConsumerStats()
        self.assigned = threading.Event()
        # built once: building a statement costs more than executing it
        inbox = tables.inbox
        self._seen = select(inbox.c.event_id).where(
            inbox.c.consumer_group == group_id,
            inbox.c.event_id.in_(bindparam("ids", expanding=True)),
        )
        self._insert_done = insert(inbox)
        self._chunk = PRUNE_CHUNK
        self._old = (
            select(inbox.c.event_id)
            .where(
                inbox.c.consumer_group == group_id,
                inbox.c.processed_at < bindparam("cutoff"),
            )
            .limit(self._chunk)
        )
        self._forget = delete(inbox).where(
            inbox.c.consumer_group == group_id,
            inbox.c.event_id.in_(bindparam("ids", expanding=True)),
        )
        self._prune_at = time.monotonic()  # at the first turn, then once per interval

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Poll, handle and commit until `stop` is set; then close cleanly.

        Offsets are committed at most once per `commit_interval_ms` while records keep coming,
        at once when a poll finds nothing new, and at stop. A batch is in the database with its
        inbox rows before its offsets are committed, so offsets committed late (a crash, or a
        rebalance handing the partition to another consumer first) only mean records read
        again, which the inbox skips as duplicates. Each commit is a round trip to the group
        coordinator, about 1 ms of this process's CPU with kafka-python: committing once per
        batch cost bench.e2e at 150/s 0.25 ms per declaration in the customs worker (2.34 ->
        2.09) and 0.4 in risk's (3.03 -> 2.61).
        """
        consumer = self._build_consumer()
        pending: dict[TopicPartition, OffsetAndMetadata] = {}
        interval_s = self._settings.commit_interval_ms / 1000
        committed_at = time.monotonic()
        try:
            while not stop.is_set():
                polled_at = time.monotonic()
                polled = consumer.poll(timeout_ms=100, max_records=self._settings.max_poll_records)
                if consumer.assignment():
                    self.assigned.set()
                if polled:
                    records = [r for batch in polled.values() for r in batch]
                    self.handle_batch(records, stop)
                    for tp, batch in polled.items():
                        pending[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(
                            batch[-1].offset + 1, "", -1
                        )
                if pending and (not polled or time.monotonic() - committed_at >= interval_s):
                    self._commit(consumer, pending)
                    committed_at = time.monotonic()
                if time.monotonic() >= self._prune_at:
                    self._prune_at = time.monotonic() + self._prune_inbox_briefly()
                if not polled:
                    continue
                # A consumer off the decision path reads at most once per interval: a fetch
                # that finds records answers at once, and the embedded broker lists every
                # record batch its partition stores to answer it (see WorkerSpec).
                rest = self._poll_interval_s - (time.monotonic() - polled_at)
                if rest > 0:
                    stop.wait(rest)
            if pending:
                self._commit(consumer, pending)
        finally:
            # Leaving the group is a courtesy to the broker: bound it as the producer's
            # close is bounded, so a stop never waits a whole request timeout.
            consumer.close(autocommit=False, timeout_ms=5_000)
            if self._producer is not None:
                self._producer.close(timeout=5)

    def _commit(
        self, consumer: KafkaConsumer, pending: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        """Commit the offsets handled so far; `pending` is emptied either way."""
        offsets = dict(pending)
        pending.clear()
        try:
            consumer.commit(offsets)
            self.stats.offset_commits += 1
        except CommitFailedError as exc:
            # The group moved on while the batches were handled (a batch slower than
            # max_poll_interval_ms, a rebalance). They are in the database with their inbox
            # rows: whoever gets the partitions again skips them as duplicates.
            self.stats.refused_commits += 1
            log.warning("offsets not committed, the records will be read again: %s", exc)

    # -- the inbox's old rows ---------------------------------------------------------------
    def prune_inbox(self, now: datetime | None = None, *, chunks: int | None = None) -> int:
        """Delete this group's inbox rows older than `inbox_keep_s` (see KafkaSettings), at most
        `chunks` batches of PRUNE_CHUNK rows, each in its own short transaction; how many went.

        An event handled longer ago than that is never delivered to the group again, so its
        row would only grow the table and the index every new event is checked against."""
        cutoff = (now or utc_now()) - timedelta(seconds=self._settings.inbox_keep_s)
        deleted = 0
        for _ in itertools.count() if chunks is None else range(chunks):
            with self._engine.begin() as conn:
                ids = list(conn.execute(self._old, {"cutoff": cutoff}).scalars())
                if ids:
                    conn.execute(self._forget, {"ids": ids})
            deleted += len(ids)
            if len(ids) < self._chunk:
                break
        self.stats.inbox_pruned += deleted
        return deleted

    def _prune_inbox_briefly(self) -> float:
        """One turn of pruning between polls; the seconds until the next: soon while old rows
        remain, else the interval (and after a database error, which is only logged)."""
        try:
            deleted = self.prune_inbox(chunks=PRUNE_CHUNKS_PER_TURN)
        except DBAPIError as exc:
            log.warning("inbox not pruned, next time: %s", _describe(exc))
            return self._settings.inbox_prune_interval_s
        if deleted:
            log.info(
                "inbox of %s: %d rows older than %.0f s deleted",
                self.group_id,
                deleted,
                self._settings.inbox_keep_s,
            )
        more = deleted == self._chunk * PRUNE_CHUNKS_PER_TURN
        return 1.0 if more else self._settings.inbox_prune_interval_s

    def _build_consumer(self) -> KafkaConsumer:
        s = self._settings
        return KafkaConsumer(
            *self.topics,
            bootstrap_servers=s.bootstrap_servers.split(","),
            client_id=f"{self.service}-consumer",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_poll_records=s.max_poll_records,
            max_poll_interval_ms=s.max_poll_interval_ms,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            request_timeout_ms=s.request_timeout_ms,
            isolation_level="read_committed",
            # read by nothing here (see build_producer): an idle consumer polling every 20 ms
            # 7.5-8.3% of a core with them, 7.1-7.2% without
            metrics_enabled=False,
        )

    # -- one batch ------------------------------------------------------------------------
    def handle_batch(self, records: Sequence[ConsumerRecord], stop: threading.Event) -> None:
        """Handle polled records; returns once each is in the database, skipped or in the DLQ."""
        self.stats.batches += 1
        decoded = [self._decode(r) for r in records]
        poison = [d for d in decoded if d.error is not None]
        for item in poison:
            self._dead_letter(item.record, item.error or "undecodable", attempts=1)
        work = [d for d in decoded if d.error is None and d.handler is not None]
        self.stats.skipped_unknown += sum(
            1 for d in decoded if d.error is None and d.handler is None
        )
        if not work:
            return
        try:
            self._with_retries(partial(self._apply, work), stop)
        except Exception as exc:
            if _is_technical(exc):
                raise  # the batch stays uncommitted and is polled again after a restart
            log.warning("batch failed (%s); handling its %d messages one by one", exc, len(work))
            for item in work:
                try:
                    self._with_retries(partial(self._apply, [item]), stop)
                except Exception as single_exc:
                    if _is_technical(single_exc):
                        raise
                    self._dead_letter(item.record, _describe(single_exc), attempts=1)

    def _decode(self, record: ConsumerRecord) -> _Decoded:
        # The relay names each event's type in a header: an event this service does not handle
        # is skipped unread, and one it handles is validated straight from its bytes.
        named = _header(record, "event_type")
        if named is not None and named not in self._handlers:
            return _Decoded(record)
        try:
            envelope: Envelope[Event] = EnvelopeAdapter.validate_json(record.value)
        except ValidationError:
            return self._diagnose(record)
        handler = self._handlers.get(envelope.payload.type)
        if handler is None:
            return _Decoded(record)
        return _Decoded(record, envelope=envelope, handler=handler)

    def _diagnose(self, record: ConsumerRecord) -> _Decoded:
        """A record that is not a valid event: unknown to this service (skipped), not an
        envelope at all, or an invalid event of a type it handles (both dead-lettered)."""
        try:
            raw = json.loads(record.value)
            type_name = raw["payload"]["type"]
            if not isinstance(type_name, str):
                raise TypeError("payload.type must be a string")
        except (ValueError, TypeError, KeyError) as exc:
            return _Decoded(record, error=f"not an event envelope: {_describe(exc)}")
        if type_name not in self._handlers:
            return _Decoded(record)
        try:
            envelope: Envelope[Event] = EnvelopeAdapter.validate_python(raw)
        except ValidationError as exc:
            return _Decoded(record, error=f"invalid {type_name}: {exc}")
        return _Decoded(record, envelope=envelope, handler=self._handlers[type_name])

    def _apply(self, work: Sequence[_Decoded]) -> None:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            ids = [str(d.envelope.event_id) for d in work if d.envelope is not None]
            seen = set(session.execute(self._seen, {"ids": ids}).scalars())
            now = utc_now()
            done: list[dict[str, Any]] = []
            staged: list[Envelope[Any]] = []  # the batch's events, staged in one statement
            runs: list[tuple[Handler | Batched, list[tuple[HandlerContext, Any]]]] = []
            duplicates = 0
            for item, event_id in zip(work, ids, strict=True):  # ids: each event's, as text
                envelope = item.envelope
                assert envelope is not None and item.handler is not None
                if event_id in seen:
                    duplicates += 1
                    continue
                seen.add(event_id)
                ctx = HandlerContext(
                    session=session,
                    envelope=envelope,
                    service=self.service,
                    _tables=self._tables,
                    _staged=staged,
                    event_id=event_id,
                )
                # Consecutive events for one Batched handler form one run (topic order kept).
                if runs and isinstance(item.handler, Batched) and runs[-1][0] is item.handler:
                    runs[-1][1].append((ctx, envelope.payload))
                else:
                    runs.append((item.handler, [(ctx, envelope.payload)]))
                done.append(
                    {
                        "consumer_group": self.group_id,
                        "event_id": event_id,
                        "event_type": envelope.payload.type,
                        "processed_at": now,
                    }
                )
            for handler, run in runs:
                if isinstance(handler, Batched):
                    handler.handle(run)
                else:
                    ((ctx, payload),) = run
                    handler(ctx, payload)
            stage(session, self._tables, staged)
            if done:
                write_rows(session, self._insert_done, done)
        self.stats.processed += len(done)
        self.stats.duplicates += duplicates
        if self._on_db_commit is not None:
            self._on_db_commit()

    def _with_retries(self, action: Callable[[], None], stop: threading.Event) -> None:
        delays = self._retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                action()
                return
            except Exception as exc:
                self.stats.last_error = _describe(exc)
                if not _is_technical(exc) or attempt == len(delays) or stop.is_set():
                    raise
                self.stats.technical_retries += 1
                log.warning(
                    "technical error, retry %d in %.2fs: %s",
                    attempt + 1,
                    delays[attempt],
                    self.stats.last_error,
                )
                time.sleep(delays[attempt])

    def _dead_letter(self, record: ConsumerRecord, error: str, *, attempts: int) -> None:
        topic = self.topics.get(record.topic)
        dlq = topic.dlq if topic is not None else f"{record.topic}.dlq"
        headers = [
            *(record.headers or []),
            ("dlq.error", error[:4000].encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.consumer_group", self.group_id.encode()),
            ("dlq.attempts", str(attempts).encode()),
        ]
        if self._producer is None:
            self._producer = self._producer_factory()
        self._producer.send(dlq, key=record.key, value=record.value, headers=headers).get(
            timeout=self._settings.request_timeout_ms / 1000
        )
        self.stats.dead_lettered += 1
        log.error(
            "message %s[%d]@%d sent to %s: %s",
            record.topic,
            record.partition,
            record.offset,
            dlq,
            error[:500],
        )


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace") if value is not None else None
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
