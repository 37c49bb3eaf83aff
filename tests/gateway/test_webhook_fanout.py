"""The webhook fan-out of a batch of customs events is the fan-out of each event in turn: one
delivery per matching active subscription of every tenant an event concerns, payload as sent."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clearway.database import make_engine
from gateway import tenancy
from gateway.box import SecretBox
from gateway.db import WebhookDelivery, WebhookSubscription, runtime
from gateway.domain.access import Kind, Principal
from gateway.webhooks import fan_out, fan_out_batch, subscribe
from gateway.worker import spec
from messaging.consumer import ConsumerLoop, HandlerContext
from messaging.settings import KafkaSettings
from schemas.envelope import Envelope
from schemas.events import (
    ClearanceChangedV1,
    ClearancesChangedV1,
    DocumentAcceptedV1,
    DocumentRejectedV1,
    DocumentsAcceptedV1,
)
from schemas.topics import CUSTOMS_EVENTS
from tests.gateway.conftest import GATEWAY_DATA_KEY

ADMIN = Principal(kind=Kind.ADMIN, name="test")
ACCEPTED, REJECTED, CLEARANCE = (
    "customs.document_accepted.v1",
    "customs.document_rejected.v1",
    "customs.clearance_changed.v1",
)


def accepted(**parties: str) -> DocumentAcceptedV1:
    return DocumentAcceptedV1(
        document_id=uuid.uuid4(),
        message_type="CEB311Message",
        business_key="order-1",
        declared_key="1105910159/order-1",
        parties=parties,
        goods_value=Decimal("12.50"),
        currency="142",
        line_count=1,
    )


def rejected(**parties: str) -> DocumentRejectedV1:
    return DocumentRejectedV1(
        document_id=uuid.uuid4(),
        message_type="CEB411Message",
        business_key="pay-1",
        return_status=-301010,
        return_info="订单已存在",
        parties=parties,
    )


def clearance(**parties: str) -> ClearanceChangedV1:
    return ClearanceChangedV1(
        declaration_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        order_no="order-1",
        return_status=800,
        return_info="released",
        parties=parties,
    )


@dataclass
class World:
    engine: Any
    subs: dict[str, str]  # name -> subscription id


@pytest.fixture
def world(gateway_database: str):
    """Tenant A (two codes) with three subscriptions, one inactive; B with one for clearance
    only; C with none."""
    engine = make_engine(gateway_database)
    box = SecretBox(GATEWAY_DATA_KEY)
    subs: dict[str, str] = {}
    for name, codes, wanted in (
        (
            "A",
            ["A000000001", "A000000002"],
            {
                "a-all": [ACCEPTED, REJECTED, CLEARANCE],
                "a-accepted": [ACCEPTED],
                "a-off": [ACCEPTED],
            },
        ),
        ("B", ["B000000001"], {"b-clearance": [CLEARANCE]}),
        ("C", ["C000000001"], {}),
    ):
        tenant = tenancy.create_tenant(engine, ADMIN, name=name, codes=codes, roles=[])
        owner = Principal(kind=Kind.TENANT, name=name, tenant_id=tenant["id"])
        for sub_name, types in wanted.items():
            made = subscribe(engine, box, owner, url="http://127.0.0.1:9/h", event_types=types)
            subs[sub_name] = made["id"]
    with Session(engine) as session, session.begin():
        session.get_one(WebhookSubscription, subs["a-off"]).active = False
    yield World(engine, subs)
    engine.dispose()


def envelopes() -> list[Envelope[Any]]:
    events = [
        accepted(ebpCode="A000000001", ebcCode="A000000002", copCode="B000000001"),
        clearance(ebpCode="A000000001", logisticsCode="B000000001"),
        rejected(copCode="C000000001", payCode="X000000009"),
        accepted(),
        rejected(copCode="A000000002"),
        clearance(agentCode="C000000001"),
    ]
    return [
        Envelope[Any](producer="customs", correlation_id="c-1", key="order-1", payload=e)
        for e in events
    ]


EXPECTED = [(0, "a-all"), (0, "a-accepted"), (1, "a-all"), (1, "b-clearance"), (4, "a-all")]


def _context(session: Session, envelope: Envelope[Any]) -> HandlerContext:
    return HandlerContext(session=session, envelope=envelope, service="gateway", _tables=runtime)


def _deliveries(engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars()
        found = [
            (d.subscription_id, d.event_id, d.event_type, json.loads(d.payload), d.state)
            for d in rows
        ]
        assert all(d.attempts == 0 and d.next_attempt_at is not None for d in rows)
    with Session(engine) as session, session.begin():
        session.execute(delete(WebhookDelivery))
    return found


def _pending(
    subscription_id: str, receipt_id: str, event: Any, occurred_at: datetime
) -> tuple[Any, ...]:
    """A delivery as the fan-out makes it (as `_deliveries` reads it): pending, its payload the
    receipt as tenants get it."""
    payload = {
        "id": receipt_id,
        "type": event.type,
        "occurredAt": occurred_at.isoformat(),
        "data": event.model_dump(mode="json"),
    }
    return (subscription_id, receipt_id, event.type, payload, "pending")


def _expected(world: World, sent: list[Envelope[Any]]) -> list[tuple[Any, ...]]:
    return [
        _pending(
            world.subs[sub],
            str(sent[index].event_id),
            sent[index].payload,
            sent[index].occurred_at,
        )
        for index, sub in EXPECTED
    ]


def test_a_batch_fans_out_as_its_events_one_by_one(world):
    sent = envelopes()
    for envelope in sent:
        with Session(world.engine) as session, session.begin():
            fan_out(_context(session, envelope), envelope.payload)
    one_by_one = _deliveries(world.engine)
    with Session(world.engine) as session, session.begin():
        fan_out_batch([(_context(session, e), e.payload) for e in sent])
    batched = _deliveries(world.engine)
    assert one_by_one == batched == _expected(world, sent)


@dataclass
class Record:
    value: bytes
    offset: int
    key: bytes | None = None
    topic: str = CUSTOMS_EVENTS.name
    partition: int = 0
    headers: list[tuple[str, bytes]] | None = None


def test_the_worker_fans_out_a_polled_batch_once_and_skips_what_it_does_not_handle(
    world, gateway_database, monkeypatch
):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_database)
    monkeypatch.setenv("GATEWAY_DATA_KEY", GATEWAY_DATA_KEY)
    worker = spec()
    loop = ConsumerLoop(
        service="gateway",
        group_id="gateway",
        topics=worker.topics,
        handlers=worker.handlers,
        engine=worker.engine,
        tables=worker.tables,
        settings=KafkaSettings(),
        producer_factory=lambda: pytest.fail("nothing goes to the DLQ"),
    )
    sent = envelopes()
    ready = sent[0].model_dump(mode="json")
    ready["payload"] = {"type": "customs.declaration_ready.v1", "order_no": "order-1"}
    values = [e.model_dump_json().encode() for e in sent]
    values = [*values[:2], json.dumps(ready).encode(), values[0], *values[2:]]  # and a repeat
    loop.handle_batch([Record(v, n) for n, v in enumerate(values)], threading.Event())
    loop.handle_batch([Record(values[1], 99)], threading.Event())  # redelivered later
    worker.engine.dispose()
    assert _deliveries(world.engine) == _expected(world, sent)
    assert loop.stats.processed == len(sent)
    assert loop.stats.duplicates == 2 and loop.stats.skipped_unknown == 1


def test_documents_accepted_together_reach_tenants_as_one_receipt_each(world):
    """Customs announces a request's accepted documents in one event; each tenant still gets a
    `customs.document_accepted.v1` per document it is a party to, with an id of its own that
    is the same when the announcement is read again."""
    mine = accepted(ebpCode="A000000001")
    also_mine = accepted(ebcCode="A000000002", copCode="B000000001")
    not_mine = accepted(ebpCode="C000000001")
    announcement = Envelope[Any](
        producer="customs",
        correlation_id="c-2",
        key="order-1",
        payload=DocumentsAcceptedV1(documents=(mine, not_mine, also_mine)),
    )
    for _ in range(2):
        with Session(world.engine) as session, session.begin():
            fan_out_batch([(_context(session, announcement), announcement.payload)])
        found = _deliveries(world.engine)
        ids = {
            str(d.document_id): str(uuid.uuid5(announcement.event_id, str(d.document_id)))
            for d in (mine, also_mine)
        }
        assert found == [
            _pending(
                world.subs[sub],
                ids[str(document.document_id)],
                document,
                announcement.occurred_at,
            )
            for document in (mine, also_mine)
            for sub in ("a-all", "a-accepted")
        ]
    assert len(set(ids.values())) == 2


def test_a_run_of_routes_receipts_reach_tenants_as_one_clearance_change_each(world):
    """Customs announces a run of routes' receipts in one event (a release issues two); each
    tenant still gets a `customs.clearance_changed.v1` per receipt it is a party to, each with
    an id of its own that is the same when the announcement is read again."""
    concluded = clearance(ebpCode="A000000001", logisticsCode="B000000001")
    released = concluded.model_copy(update={"return_status": 800, "return_info": "放行"})
    elsewhere = clearance(ebpCode="C000000001")
    announcement = Envelope[Any](
        producer="customs",
        correlation_id="c-3",
        key="order-1",
        payload=ClearancesChangedV1(changes=(concluded, elsewhere, released)),
    )
    ids = [str(uuid.uuid5(announcement.event_id, f"change-{place}")) for place in (0, 2)]
    for _ in range(2):
        with Session(world.engine) as session, session.begin():
            fan_out_batch([(_context(session, announcement), announcement.payload)])
        assert _deliveries(world.engine) == [
            _pending(world.subs[sub], receipt_id, change, announcement.occurred_at)
            for receipt_id, change in zip(ids, (concluded, released), strict=True)
            for sub in ("a-all", "b-clearance")
        ]
    assert len(set(ids)) == 2
