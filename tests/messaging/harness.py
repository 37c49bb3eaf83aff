"""A tiny service for exercising the runtime: one effect row per handled DocumentReceivedV1."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select

from clearway.database import make_engine
from messaging.consumer import ConsumerLoop, HandlerContext, RetryPolicy
from messaging.producer import build_producer
from messaging.settings import KafkaSettings
from messaging.tables import add_runtime_tables
from schemas.envelope import Envelope
from schemas.events import DocumentReceivedV1
from schemas.topics import CUSTOMS_INBOUND

metadata = MetaData()
runtime = add_runtime_tables(metadata)
effect = Table(
    "effect",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(36), nullable=False),
)


def make_database(url: str) -> Engine:
    engine = make_engine(url)
    metadata.create_all(engine)
    return engine


def record_effect(ctx: HandlerContext, event: DocumentReceivedV1) -> None:
    ctx.session.execute(insert(effect).values(document_id=str(event.document_id)))


def effects(engine: Engine, document_id: uuid.UUID | None = None) -> int:
    query = select(func.count()).select_from(effect)
    if document_id is not None:
        query = query.where(effect.c.document_id == str(document_id))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def received(document_id: uuid.UUID | None = None, key: str = "order-1") -> Envelope[Any]:
    return Envelope[Any](
        producer="test",
        correlation_id="corr-1",
        key=key,
        payload=DocumentReceivedV1(
            document_id=document_id or uuid.uuid4(),
            submission_id=uuid.uuid4(),
            message_type="CEB311Message",
            business_key=key,
            sender_code="1105910159",
        ),
    )


def consumer_loop(
    engine: Engine,
    settings: KafkaSettings,
    handler: Callable[[HandlerContext, DocumentReceivedV1], None] = record_effect,
    group_id: str = "test-group",
    **kwargs: Any,
) -> ConsumerLoop:
    return ConsumerLoop(
        service="test",
        group_id=group_id,
        topics=(CUSTOMS_INBOUND,),
        handlers={DocumentReceivedV1: handler},
        engine=engine,
        tables=runtime,
        settings=settings,
        producer_factory=lambda: build_producer(settings, client_id="test-dlq"),
        retry=kwargs.pop("retry", RetryPolicy(attempts=4, first_delay_s=0.01)),
        **kwargs,
    )


@contextmanager
def running(loop: ConsumerLoop) -> Iterator[ConsumerLoop]:
    """Run the loop in a thread until the block ends; fail if it crashed."""
    stop = threading.Event()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            loop.run(stop)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        stop.set()
        thread.join(timeout=15)
    if failure:
        raise failure[0]


def publish(
    settings: KafkaSettings,
    topic: str,
    *payloads: tuple[bytes, bytes],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send raw (key, value) records, in order, and wait for the broker's acknowledgement."""
    producer = build_producer(settings, client_id="test-producer")
    try:
        for key, value in payloads:
            producer.send(topic, key=key, value=value, headers=headers).get(timeout=10)
    finally:
        producer.close(timeout=5)
