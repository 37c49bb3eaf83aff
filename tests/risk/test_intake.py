"""The risk worker handles a batch of events exactly as it handles them one at a time: the same
assessments, history, price samples, model counts, labels and announcements (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, select

from clearway.database import make_engine, migrate
from messaging.consumer import ConsumerLoop
from messaging.settings import KafkaSettings
from risk import history_store
from risk.db import metadata, runtime
from risk.domain.rules import RuleSet
from risk.handlers import handlers
from risk.model import gbm, synthetic
from risk.model.features import History, features
from risk.model.gbm import RiskModel
from risk.model.platform import declared_from
from schemas.envelope import Envelope
from schemas.events import DocumentAcceptedV1, DocumentsAcceptedV1, InspectionConcludedV1
from schemas.topics import CUSTOMS_EVENTS
from tests.risk.declarations import declaration
from tests.support import postgres_database

T0 = datetime(2024, 9, 1, 2, 0, tzinfo=UTC)
RULES = RuleSet(
    random_inspection_rate=Decimal("0.2"),
    undervaluation_min_samples=3,
    buyer_day_max=2,
    buyer_week_max=4,
    shared_contact_max_buyers=1,
)
SELLERS = ("3301960002", "3301960012", "3301960022")
HS = ("1901101000", "3304990099", "8517120000")
WALL_CLOCK = {"assessed_at", "observed_at", "recorded_at", "processed_at", "created_at"}


@pytest.fixture(scope="module")
def model() -> RiskModel:
    """A small model trained on generated labels (its history features matter for the test)."""
    history = History()
    rows, labels = [], []
    for g in synthetic.declarations(600, seed=5):
        declared = declared_from(g.event, date(2024, 8, 1))
        rows.append(features(declared, history))
        history.add(declared)
        history.add_label(declared, g.found)
        labels.append(g.found)
    return gbm.fit(rows, labels, version="test", summary={}, compact=True)


@pytest.fixture
def engines(tmp_path: Path, database_url: str) -> Iterator[list[Engine]]:
    """Three empty risk databases of the kind at hand."""
    with ExitStack() as stack:
        if database_url.startswith("sqlite"):
            urls = [f"sqlite:///{tmp_path / f'risk{n}.db'}" for n in range(3)]
        else:
            urls = [stack.enter_context(postgres_database()) for _ in range(3)]
        found = []
        for url in urls:
            migrate("risk", url)
            engine = make_engine(url)
            stack.callback(engine.dispose)
            found.append(engine)
        yield found


def _envelope(payload: Any, at: datetime, n: int) -> Envelope[Any]:
    return Envelope[Any](
        event_id=uuid.UUID(int=10**6 + n),
        producer="customs",
        correlation_id=f"c{n}",
        key="k",
        payload=payload,
        occurred_at=at,
    )


def stream() -> list[Envelope[Any]]:
    """Declarations of a few repeating buyers, phones, addresses, sellers and goods, some arriving
    late, with their documents, redeliveries under new event ids, and inspection conclusions
    (one before its declaration's assessment, one twice)."""
    out: list[Envelope[Any]] = []
    ready = {}
    for n in range(40):
        at = T0 + timedelta(hours=9 * n)
        if n in (17, 29):
            at = T0 + timedelta(hours=9 * n - 50)  # late: earlier than the ones before it
        event = declaration(
            declaration_id=str(uuid.UUID(int=n + 1)),
            order_no=f"ORD{n:04d}",
            ebc_code=SELLERS[n % 3] if n < 30 else "3301969999",
            ebp_code="3301960001" if n < 33 else "3301960091",
            buyer_key=f"{n % 4:064x}",
            phone_key=None if n % 7 == 0 else f"{n % 3:064x}",
            address_key=None if n % 5 == 0 else f"{n % 6 + 10:064x}",
            dutiable_value="4200.00" if n % 11 == 0 else "210.00",
            lines=[
                {"gcode": HS[n % 3], "unit_price": "20.00" if n % 9 == 4 else f"{100 + n % 13}.50"},
                *([{"gcode": HS[(n + 1) % 3], "country": "502"}] if n % 4 == 1 else []),
            ],
        )
        ready[n] = event
        documents = [
            DocumentAcceptedV1(
                document_id=uuid.UUID(int=5000 + 4 * n + k),
                message_type=kind,
                business_key=event.order_no,
                declared_key=f"3301960001/{event.order_no}",
                parties={"ebpCode": event.ebp_code, "ebcCode": event.ebc_code},
                goods_value=Decimal("200.00") if k == 0 else None,
                currency="142",
                line_count=len(event.lines),
            )
            for k, kind in enumerate(("CEB311Message", "CEB411Message", "CEB511Message"))
        ]
        if n % 2 == 0:  # announced together, as customs does now
            out.append(_envelope(DocumentsAcceptedV1(documents=tuple(documents)), at, len(out)))
        else:  # one at a time, as customs did before
            for document in documents:
                out.append(_envelope(document, at, len(out)))
        out.append(_envelope(event, at, len(out)))
        if n in (12, 20):  # a document and a declaration redelivered under new event ids
            out.append(_envelope(documents[0], at, len(out)))
            out.append(_envelope(ready[5], at, len(out)))
        for labelled, found in {10: [(3, True), (26, False)], 31: [(26, True), (8, False)]}.get(
            n, []
        ):
            conclusion = InspectionConcludedV1(
                declaration_id=uuid.UUID(int=labelled + 1),
                order_no=f"ORD{labelled:04d}",
                found=found,
                outcome="detained" if found else "released",
                decided_by="officer-7",
                decided_at=at,
            )
            out.append(_envelope(conclusion, at, len(out)))
            if labelled == 8:
                out.append(_envelope(conclusion, at, len(out)))
    return out


def _deliver(
    engine: Engine,
    model: RiskModel,
    envelopes: list[Envelope[Any]],
    *,
    batch: int,
    rules: RuleSet = RULES,
    workers: int = 1,
) -> None:
    """Deliver the events in batches; with several workers (each its own handlers, as separate
    processes have), they take turns."""
    loops = [
        ConsumerLoop(
            service="risk",
            group_id="risk",
            topics=(CUSTOMS_EVENTS,),
            handlers=handlers(rules, model),
            engine=engine,
            tables=runtime,
            settings=KafkaSettings(),
            producer_factory=lambda: None,  # type: ignore[arg-type,return-value]
        )
        for _ in range(workers)
    ]
    records = [
        SimpleNamespace(
            value=e.model_dump_json().encode(),
            topic=CUSTOMS_EVENTS.name,
            partition=0,
            offset=n,
            key=b"k",
            headers=[],
        )
        for n, e in enumerate(envelopes)
    ]
    for n, start in enumerate(range(0, len(records), batch)):
        loop = loops[n % workers]
        loop.handle_batch(records[start : start + batch], threading.Event())  # type: ignore[arg-type]
    for loop in loops:
        assert loop.stats.dead_lettered == 0, loop.stats.last_error


def _state(engine: Engine) -> dict[str, Any]:
    """Every risk table's rows (wall-clock columns left out) and the announced events."""
    state: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in (*metadata.sorted_tables, runtime.inbox):
            if table.name == "outbox":
                continue
            columns = [c for c in table.columns if c.name not in WALL_CLOCK]
            keys = list(table.primary_key.columns)
            state[table.name] = conn.execute(select(*columns).order_by(*keys)).all()
        outbox = runtime.outbox.c
        state["outbox"] = []
        for key, event_type, correlation_id, body in conn.execute(
            select(outbox.key, outbox.event_type, outbox.correlation_id, outbox.body).order_by(
                outbox.id
            )
        ):
            envelope = json.loads(body)
            del envelope["event_id"], envelope["occurred_at"]
            state["outbox"].append((key, event_type, correlation_id, envelope))
    return state


def test_a_batch_has_the_effects_of_its_events_handled_one_at_a_time(engines, model, monkeypatch):
    monkeypatch.setattr(history_store, "RESERVOIR_SIZE", 4)  # samples fill up and get replaced
    envelopes = stream()
    one_by_one, whole, in_sevens = engines
    _deliver(one_by_one, model, envelopes, batch=1)
    _deliver(whole, model, envelopes, batch=len(envelopes))
    _deliver(in_sevens, model, envelopes, batch=7)
    expected = _state(one_by_one)
    assert _state(whole) == expected
    assert _state(in_sevens) == expected
    # the stream exercises what it should
    reasons = [json.loads(row.reasons) for row in expected["risk_assessment"]]
    codes = {r["code"] for found in reasons for r in found}
    assert {
        "new-enterprise",
        "new-platform",
        "buyer-velocity",
        "shared-phone",
        "shared-address",
        "undervaluation",
        "high-value",
        "random-inspection",
    } <= codes, codes
    assert any(code.startswith("model:") for code in codes)
    assert len(expected["risk_assessment"]) == 40 == len(expected["outbox"])
    assert len(expected["observation"]) == 120
    assert [(row.declaration_id, row.found) for row in expected["risk_label"]] == [
        (str(uuid.UUID(int=4)), True),
        (str(uuid.UUID(int=9)), False),
        (str(uuid.UUID(int=27)), False),
    ]
    assert max(row.seen for row in expected["price_reservoir"]) > 4
    overall = [row for row in expected["risk_history_tally"] if row.kind == "overall"]
    assert [(row.labelled, row.found) for row in overall] == [(2, 1)]


def test_workers_taking_turns_have_the_effects_of_one(engines, model, monkeypatch):
    """Each worker keeps what its commits stored (`history_store.Recall`): what another worker
    changed since must be read again."""
    monkeypatch.setattr(history_store, "RESERVOIR_SIZE", 4)
    envelopes = stream()
    one, two, three = engines
    _deliver(one, model, envelopes, batch=1)
    _deliver(two, model, envelopes, batch=3, workers=2)
    _deliver(three, model, envelopes, batch=2, workers=3)
    expected = _state(one)
    assert _state(two) == expected
    assert _state(three) == expected


def test_a_ruleset_with_other_windows_reads_the_history_it_needs(engines, model):
    rules = replace(RULES, shared_contact_window_days=2)
    envelopes = stream()
    for engine, batch in zip(engines[:2], (1, len(envelopes)), strict=True):
        _deliver(engine, model, envelopes, batch=batch, rules=rules)
    assert _state(engines[0]) == _state(engines[1])


def test_the_announcements_envelope_class_outlives_the_garbage_collector():
    """Pydantic caches `Envelope[Any]` weakly; rebuilt after each collection, it cost the worker
    milliseconds again and again (messaging.consumer holds it for every service)."""
    import gc
    import weakref

    import messaging.consumer

    built = weakref.ref(Envelope[Any])
    gc.collect()
    assert built() is not None
    assert Envelope[Any] is messaging.consumer.ANY_ENVELOPE
