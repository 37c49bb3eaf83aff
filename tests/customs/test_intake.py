"""The worker's hot path decides a run of received documents exactly as one by one would.

The same generated traffic (complete declarations, repeat buyers, bad ones: mismatches,
duplicates; plus a message of order changes in the middle, which the run hands to the general
path) is submitted to two customs databases, each document's arrival kept as an event instead
of decided on arrival (one message is one run there; here the whole traffic is). One decides
each event alone with `deciding.process_received`; the other decides the whole run with
`intake.process_received_run`.
Every receipt, document, declaration, quota and emitted event must be the same.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from clearway import traffic
from clearway.groupcommit import Failed
from customs import deciding, intake, keylocks, service
from customs.ceb.documents import KINDS
from customs.ceb.parsing import MessageFormatError
from customs.context import Customs
from customs.db import BuyerQuota, Declaration, Document, QuotaUse, Receipt, runtime
from customs.domain.access import EVERYTHING, OutOfScope, Scope
from customs.vault import Vault
from messaging.consumer import HandlerContext
from schemas.envelope import Envelope
from schemas.events import EnvelopeAdapter
from tests.conftest import TEST_DATA_KEY

IDENTITIES = traffic.make_identities()


def _bodies(
    count: int = 120,
    *,
    seed: int = 11,
    bad_share: float = 0.25,
    risky_share: float = 0.1,
    changes: bool = True,
) -> list[bytes]:
    """The traffic's messages, with a message changing the first message's orders (appType 2)
    in the middle unless `changes` is False."""
    declarations = list(
        traffic.generate(count, seed=seed, bad_share=bad_share, risky_share=risky_share)
    )
    bodies = [m.body for m in traffic.messages(declarations, IDENTITIES)]
    if not changes:
        return bodies
    orders = next(b for b in bodies if b"CEB311Message" in b[:300])
    changes = orders.replace(b"<ceb:appType>1</ceb:appType>", b"<ceb:appType>2</ceb:appType>")
    assert changes != orders
    middle = len(bodies) // 2
    return [*bodies[:middle], changes, *bodies[middle:]]


def _received(customs: Customs, bodies: list[bytes], monkeypatch) -> list[Envelope[Any]]:
    """Submit `bodies`, each document's arrival kept as an event instead of decided at once."""

    def keep(customs: Customs, conn, arrived, stored=(), store=None) -> intake.Decided:
        if store is not None:
            store({})  # the documents, as received
        events = [
            Envelope[Any](producer="customs", correlation_id=cid, key=e.business_key, payload=e)
            for e, cid, _ in arrived
        ]
        return intake.Decided(events, {document_id: 2 for _, _, document_id in arrived})

    monkeypatch.setattr(service, "decide_on_arrival", keep)
    traffic.register_signers(customs, IDENTITIES)
    for body in bodies:
        # refused at once (XSD, field rules, signature): never reaches the worker
        with suppress(MessageFormatError):
            service.submit_message(customs, body, correlation_id="intake")
    outbox = runtime.outbox
    with customs.engine.begin() as conn:
        rows = conn.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars().all()
        conn.execute(delete(outbox))
    return [EnvelopeAdapter.validate_json(body) for body in rows]


def _contexts(session: Session, events: list[Envelope[Any]], staged: list) -> list:
    return [(HandlerContext(session, e, "customs", runtime, staged), e.payload) for e in events]


def _state(customs: Customs, events: list[Envelope[Any]] | None, staged: list) -> dict[str, Any]:
    """Everything the decisions wrote, with generated ids replaced by stable names (documents
    named by their order of arrival in `events`, or else by what they are)."""
    with Session(customs.engine) as session:
        if events is not None:
            names = {str(e.payload.document_id): f"doc{i}" for i, e in enumerate(events)}
        else:
            names = {
                d.id: f"{d.message_type} {d.guid} appType {d.app_type} #{d.seq}"
                for d in session.execute(select(Document)).scalars()
            }
            assert len(set(names.values())) == len(names)
        for declaration in session.execute(select(Declaration)).scalars():
            names[declaration.id] = f"declaration {declaration.ebp_code}/{declaration.order_no}"
        documents = {
            names[d.id]: (d.return_status, d.invt_no)
            for d in session.execute(select(Document)).scalars()
        }
        receipts = [
            (names[r.document_id], r.return_status, r.return_info)
            for r in session.execute(select(Receipt).order_by(Receipt.id)).scalars()
        ]
        declarations = sorted(
            (
                names[d.id],
                d.status,
                d.buyer_key,
                d.mismatches,
                d.tax,
                *(
                    names.get(getattr(d, f"{role}_document_id") or "")
                    for role in ("order", "payment", "waybill", "inventory")
                ),
            )
            for d in session.execute(select(Declaration)).scalars()
        )
        quotas = sorted(
            (q.buyer_key, q.year, q.used_units)
            for q in session.execute(select(BuyerQuota)).scalars()
            if q.used_units  # the hot path makes the row before taking from it
        )
        uses = sorted(
            (names[u.declaration_id], u.amount_units)
            for u in session.execute(select(QuotaUse)).scalars()
        )

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    # The documents accepted on arrival are announced together (`deciding.AcceptedTogether`),
    # the others were staged one by one: compared as the documents announced, whichever way.
    accepted: list[Any] = []
    emitted: list[Any] = []
    for envelope in staged:
        payload = envelope.payload
        if payload.type == "customs.documents_accepted.v1":
            accepted.extend(payload.documents)
        elif payload.type == "customs.document_accepted.v1":
            accepted.append(payload)
        else:
            emitted.append(rename(json.loads(payload.model_dump_json())))
    return {
        "documents": documents,
        "receipts": receipts,
        "declarations": declarations,
        "quotas": quotas,
        "uses": uses,
        "emitted": emitted,
        "accepted": sorted(
            (rename(json.loads(a.model_dump_json())) for a in accepted),
            key=lambda a: json.dumps(a, sort_keys=True),
        ),
    }


@pytest.mark.parametrize("changes", [True, False], ids=["with-changes", "new-documents-only"])
def test_a_run_decided_at_once_equals_its_events_decided_one_by_one(
    customs_engine, second_engine, monkeypatch, changes
):
    """With the changes in the middle, the run's duplicates before them are refused on the hot
    path and those after them on the general path; without, the general path never runs."""
    bodies = _bodies(changes=changes)
    alone = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    together = Customs(engine=second_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    events_alone = _received(alone, bodies, monkeypatch)
    events_together = _received(together, bodies, monkeypatch)
    assert len(events_alone) == len(events_together) > 400

    staged_alone: list = []
    with Session(customs_engine) as session:
        for ctx, payload in _contexts(session, events_alone, staged_alone):
            with session.begin():  # one transaction per event, as with max_poll_records=1
                deciding.process_received(alone, ctx, payload)
    staged_together: list = []
    general: list[str] = []  # the message types the run handed to the general path

    def process_received(customs: Customs, ctx: HandlerContext, event: Any) -> None:
        general.append(event.message_type)
        deciding.process_received(customs, ctx, event)

    monkeypatch.setattr(intake, "process_received", process_received)
    with Session(second_engine) as session, session.begin():
        intake.process_received_run(together, _contexts(session, events_together, staged_together))

    expected = _state(alone, events_alone, staged_alone)
    got = _state(together, events_together, staged_together)
    for part in expected:
        assert got[part] == expected[part], part
    # the traffic exercised what it should: rejections, duplicates, changes, ready declarations
    codes = [status for _, status, _ in expected["receipts"]]
    assert {120, -301010} <= set(codes)
    types = {e["type"] for e in expected["emitted"]}
    assert {"customs.declaration_ready.v1", "customs.clearance_changed.v1"} <= types
    assert "customs.document_rejected.v1" in types
    duplicates = codes.count(-301010)
    if changes:  # the changes, then every later duplicate; the earlier ones on the hot path
        changed = sum(body.count(b"<ceb:appType>2</ceb:appType>") for body in bodies)
        assert changed <= len(general) < changed + duplicates
    else:
        assert duplicates > 1 and general == []


def test_documents_decided_on_arrival_equal_their_arrivals_decided_from_the_database(
    customs_engine, second_engine, monkeypatch
):
    """The API decides what it has just inserted from the values in hand (`intake.Stored`):
    the same decisions as reading the documents back (the worker's path for arrivals)."""
    bodies = _bodies()
    on_arrival = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    read_back = Customs(engine=second_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    events = _received(read_back, bodies, monkeypatch)
    monkeypatch.undo()
    staged: list = []
    with Session(second_engine) as session, session.begin():
        intake.process_received_run(read_back, _contexts(session, events, staged))

    traffic.register_signers(on_arrival, IDENTITIES)
    for body in bodies:
        with suppress(MessageFormatError):
            service.submit_message(on_arrival, body, correlation_id="intake")
    with customs_engine.connect() as conn:
        outbox = runtime.outbox
        bodies_out = conn.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars().all()
    published = [EnvelopeAdapter.validate_json(body) for body in bodies_out]

    expected = _state(read_back, None, staged)
    got = _state(on_arrival, None, published)
    # each document's receipts in order (all messages' first receipts come first when read back)
    for state in (expected, got):
        by_document: dict[str, list[tuple[int, str]]] = {}
        for name, status, info in state["receipts"]:
            by_document.setdefault(name, []).append((status, info))
        state["receipts"] = by_document
    for part in expected:
        assert got[part] == expected[part], part
    assert len(got["emitted"]) > 100 and len(got["accepted"]) > 300
    assert {"customs.declaration_ready.v1", "customs.clearance_changed.v1"} <= {
        e["type"] for e in got["emitted"]
    }
    # the other events are caused by an arrival: its document's id, its request's correlation
    # (a declaration's events by one of its own four documents)
    with Session(customs_engine) as session:
        stored_ids = {str(i) for i in session.execute(select(Document.id)).scalars()}
        documents_of = {
            str(d.id): {
                str(d.order_document_id),
                str(d.payment_document_id),
                str(d.waybill_document_id),
                str(d.inventory_document_id),
            }
            for d in session.execute(select(Declaration)).scalars()
        }
    caused = [e for e in published if e.payload.type != "customs.documents_accepted.v1"]
    assert len(caused) > 100
    for envelope in caused:
        assert envelope.correlation_id == "intake"
        assert envelope.causation_id in stored_ids
        if envelope.payload.type == "customs.document_rejected.v1":
            assert envelope.causation_id == str(envelope.payload.document_id)
        declaration_id = getattr(envelope.payload, "declaration_id", None)
        if declaration_id is not None:
            assert envelope.causation_id in documents_of[str(declaration_id)]
    # on arrival, each message's accepted documents are one event
    together = [e.payload for e in published if e.payload.type == "customs.documents_accepted.v1"]
    assert len(together) < len(got["accepted"]) / 5
    assert sum(len(e.documents) for e in together) == len(got["accepted"])


def test_two_runs_taking_the_same_buyers_quota_at_once_both_count_on_postgresql(
    database_url, customs, monkeypatch
):
    """The hot path reads the buyer's used quota with its row locked: a second worker's run
    waits for the first to commit and adds to what it took (no lost update)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its transactions cannot interleave")
    import threading

    declarations = list(traffic.generate(100, seed=5, bad_share=0, risky_share=0))
    by_buyer: dict[str, list[str]] = {}
    for d in declarations:
        by_buyer.setdefault(d.buyer.id_number, []).append(d.order_no)
    # a buyer with an earlier declaration: the quota row exists before the two runs
    first, second = next(orders for orders in by_buyer.values() if len(orders) >= 3)[1:3]
    bodies = [m.body for m in traffic.messages(declarations, IDENTITIES)]
    events = _received(customs, bodies, monkeypatch)

    def held_back(e: Envelope[Any]) -> bool:
        payload = e.payload
        return payload.message_type == "CEB621Message" and payload.business_key in (first, second)

    with Session(customs.engine) as session, session.begin():
        intake.process_received_run(
            customs, _contexts(session, [e for e in events if not held_back(e)], [])
        )
    last = [e for e in events if held_back(e)]
    assert len(last) == 2

    # The first run, having read the quota, waits (up to 1 s) for the second to read it too.
    read_by_first, read_by_second = threading.Event(), threading.Event()
    real_lock = intake._lock_quotas

    def observed(session, keys):
        used = real_lock(session, keys)
        if threading.current_thread().name == "first":
            read_by_first.set()
            read_by_second.wait(1.0)
        else:
            read_by_second.set()
        return used

    monkeypatch.setattr(intake, "_lock_quotas", observed)
    failures: list[Exception] = []

    def decide(event: Envelope[Any]) -> None:
        try:
            with Session(customs.engine) as session, session.begin():
                intake.process_received_run(customs, _contexts(session, [event], []))
        except Exception as exc:  # reported below
            failures.append(exc)

    one = threading.Thread(target=decide, args=(last[0],), name="first")
    one.start()
    assert read_by_first.wait(10)
    decide(last[1])
    one.join()
    assert failures == []
    with Session(customs.engine) as session:
        buyer_key = session.execute(
            select(Declaration.buyer_key).where(Declaration.order_no == first)
        ).scalar_one()
        quota = session.execute(
            select(BuyerQuota).where(BuyerQuota.buyer_key == buyer_key)
        ).scalar_one()
        taken = [
            u.amount_units
            for u in session.execute(select(QuotaUse)).scalars()
            if u.buyer_key == buyer_key
        ]
    assert len(taken) >= 3
    assert quota.used_units == sum(taken)


def test_two_messages_completing_one_declaration_at_once_assess_it_once_on_postgresql(
    database_url, customs, monkeypatch
):
    """Decided on arrival, the documents of one orderNo never interleave: the waybill and the
    inventory of a declaration, arriving at the same moment in two messages, are decided one
    after the other, and the second completes the declaration (without the per-key lock both
    would miss the other and the declaration would never be assessed)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its transactions cannot interleave")
    import threading

    (declaration,) = traffic.generate(1, seed=7, bad_share=0, risky_share=0)
    bodies = {
        body[:400].split(b"Message")[0][-6:]: body
        for body in (m.body for m in traffic.messages([declaration], IDENTITIES))
    }
    traffic.register_signers(customs, IDENTITIES)
    for kind in (b"CEB311", b"CEB411"):
        service.submit_message(customs, bodies[kind], correlation_id="first two")

    locked_by_first, locked_by_second = threading.Event(), threading.Event()
    real_lock = keylocks.lock_keys

    def observed(conn, keys):
        real_lock(conn, keys)
        if threading.current_thread().name == "first":
            locked_by_first.set()
            locked_by_second.wait(1.0)  # the second waits on the lock meanwhile
        else:
            locked_by_second.set()

    monkeypatch.setattr(keylocks, "lock_keys", observed)
    failures: list[Exception] = []

    def submit(body: bytes) -> None:
        # each thread as its own API replica (its own group commit): two transactions at once
        replica = Customs(engine=customs.engine, vault=customs.vault)
        try:
            service.submit_message(replica, body, correlation_id="last two")
        except Exception as exc:  # reported below
            failures.append(exc)

    one = threading.Thread(target=submit, args=(bodies[b"CEB511"],), name="first")
    one.start()
    assert locked_by_first.wait(10)
    submit(bodies[b"CEB621"])
    one.join()
    assert failures == []
    with Session(customs.engine) as session:
        (filed,) = session.execute(select(Declaration)).scalars().all()
        staged = session.execute(select(runtime.outbox.c.event_type)).scalars().all()
    assert filed.tax is not None and filed.status == 120
    assert staged.count("customs.declaration_ready.v1") == 1


def test_each_requests_accepted_documents_are_announced_together_in_place_of_the_first():
    """`deciding.AcceptedTogether`: per correlation id (a group commit stages several
    requests), at most ACCEPTED_PER_EVENT documents an event, in the place of the first,
    other events left in place."""
    import uuid

    from schemas.events import DocumentAcceptedV1, DocumentRejectedV1

    staged: list[Envelope[Any]] = []
    together = deciding.AcceptedTogether(staged)

    def accept(n: int, request: str) -> None:
        document = DocumentAcceptedV1(
            document_id=uuid.UUID(int=n),
            message_type="CEB311Message",
            business_key=f"order-{n}",
            declared_key=f"1105910159/order-{n}",
            line_count=1,
        )
        together.add("customs", request, f"order-{n}", document)

    refused = Envelope[Any](
        producer="customs",
        correlation_id="r1",
        key="order-9",
        payload=DocumentRejectedV1(
            document_id=uuid.UUID(int=9),
            message_type="CEB311Message",
            business_key="order-9",
            return_status=-301010,
            return_info="duplicate",
        ),
    )
    accept(1, "r1")
    staged.append(refused)
    accept(2, "r2")
    accept(3, "r1")
    for n in range(deciding.ACCEPTED_PER_EVENT + 1):
        accept(100 + n, "r3")
    later = Envelope[Any](
        producer="customs", correlation_id="r3", key="order-10", payload=refused.payload
    )
    staged.append(later)
    out = together.events()

    assert [e.payload.type for e in out] == [
        "customs.documents_accepted.v1",
        "customs.document_rejected.v1",
        "customs.documents_accepted.v1",
        "customs.documents_accepted.v1",
        "customs.documents_accepted.v1",
        "customs.document_rejected.v1",
    ]
    assert out[1] is refused and out[-1] is later
    merged = [out[0], out[2], out[3], out[4]]
    ids = [[d.document_id.int for d in e.payload.documents] for e in merged]
    assert ids == [[1, 3], [2], list(range(100, 200)), [200]]
    assert [(e.correlation_id, e.causation_id, e.key) for e in merged] == [
        ("r1", "r1", "order-1"),
        ("r2", "r2", "order-2"),
        ("r3", "r3", "order-100"),
        ("r3", "r3", "order-200"),
    ]
    assert len({e.event_id for e in out}) == len(out)
    assert deciding.AcceptedTogether([refused]).events() == [refused]  # nothing accepted


def test_a_message_of_new_documents_is_inserted_as_decided_without_updating_them(
    customs_engine,
):
    """On the hot path the documents are inserted with their decision (status, inventory
    number) instead of inserted, then updated; a message the general path takes (changes) is
    inserted first. Both end as decided."""
    customs = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    traffic.register_signers(customs, IDENTITIES)
    statements: list[str] = []
    event.listen(
        customs_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    updates: dict[bytes, int] = {}
    reads: dict[bytes, tuple[int, int]] = {}  # declared keys, then statuses read back
    for body in _bodies(60, seed=12, bad_share=0, risky_share=0):
        statements.clear()
        with suppress(MessageFormatError):
            service.submit_message(customs, body, correlation_id="inserted-as-decided")
        updates[body] = sum(s.startswith("UPDATE document SET") for s in statements)
        reads[body] = (
            sum("FROM declared_key" in s for s in statements),
            sum(s.startswith("SELECT document.id, document.return_status") for s in statements),
        )

    changes = [b for b in updates if b"<ceb:appType>2</ceb:appType>" in b]
    assert len(changes) == 1 and updates[changes[0]] > 0  # the general path changes rows
    assert [count for body, count in updates.items() if body not in changes and count] == []
    # one query for the declared keys, whatever the types; their statuses are not read back
    assert {reads[body] for body in updates if body not in changes} == {(1, 0)}
    assert reads[changes[0]][1] == 1  # the general path reads them
    with Session(customs_engine) as session:
        documents = session.execute(select(Document)).scalars().all()
    assert len(documents) > 200
    # every one decided and accepted: the changes too (their declarations were not complete)
    assert {(d.app_type, d.return_status) for d in documents} == {("1", 120), ("2", 120)}
    inventories = [d for d in documents if d.message_type == "CEB621Message"]
    assert len(inventories) == 60 and all(d.invt_no for d in inventories)


def test_a_group_of_messages_of_every_type_is_decided_with_one_query_for_its_declared_keys(
    customs_engine,
):
    """Messages written together (a group commit) bring new documents of several types: the
    keys already declared are looked up in one statement, not one per type, and each document's
    answer is its decision, not read back. The same messages again are duplicates."""
    customs = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    traffic.register_signers(customs, IDENTITIES)
    declarations = list(traffic.generate(12, seed=21, bad_share=0, risky_share=0))
    bodies = [m.body for m in traffic.messages(declarations, IDENTITIES)]
    types = {body[body.index(b"<ceb:CEB") + 5 : body.index(b"<ceb:CEB") + 18] for body in bodies}
    assert len(types) == 4
    statements: list[str] = []
    event.listen(
        customs_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )

    def write_together(label: str) -> list[service.SubmissionAccepted]:
        statements.clear()
        return service.write_submissions(
            customs,
            [
                service._prepare(customs, body, correlation_id=f"{label}-{n}", scope=EVERYTHING)
                for n, body in enumerate(bodies)
            ],
        )

    answers = write_together("first")
    assert len([s for s in statements if "FROM declared_key" in s]) == 1
    assert not [s for s in statements if s.startswith("SELECT document.id, document.return_status")]
    assert {d.return_status for a in answers for d in a.documents} == {120}
    with Session(customs_engine) as session:
        stored = {d.id: d.return_status for d in session.execute(select(Document)).scalars()}
        declared = session.execute(select(Declaration)).scalars().all()
    assert {d.reference: 120 for a in answers for d in a.documents} == stored
    assert len(declared) == 12 and all(d.tax is not None for d in declared)

    # each document a duplicate of one declared before: refused on the hot path too, inserted
    # as refused (no UPDATE, no status read back), its receipt and rejection as the general
    # path's (test_a_run_decided_at_once_equals_its_events_decided_one_by_one)
    again = write_together("again")
    duplicate_codes = {KINDS[a.message_type].duplicate_code for a in again}
    assert {d.return_status for a in again for d in a.documents} == duplicate_codes
    assert len(duplicate_codes) == 4
    assert not [s for s in statements if s.startswith(("UPDATE document", "SELECT document.id"))]
    refused = {d.reference: d.return_status for a in again for d in a.documents}
    with Session(customs_engine) as session:
        stored = {
            d.id: d.return_status
            for d in session.execute(select(Document).where(Document.id.in_(refused))).scalars()
        }
        receipts = session.execute(
            select(Receipt.document_id, Receipt.return_status).where(
                Receipt.document_id.in_(refused)
            )
        ).all()
        declared_after = session.execute(select(Declaration)).scalars().all()
        outbox = runtime.outbox
        rejections = [
            json.loads(body)["payload"]
            for body in session.execute(select(outbox.c.body)).scalars()
            if b"document_rejected" in body.encode()
        ]
    assert stored == refused
    assert sorted(receipts) == sorted(
        [(i, 2) for i in refused] + [(i, code) for i, code in refused.items()]
    )
    assert len(declared_after) == 12  # nothing filed
    assert sorted((r["document_id"], r["return_status"]) for r in rejections) == sorted(
        refused.items()
    )


def test_a_group_checks_each_message_in_turn_and_a_refused_one_fails_alone(customs_engine):
    """The messages of a group are checked in the writer's turn: one that fails its checks
    (not XML, a sender outside the caller's scope) is its own caller's refusal; the others are
    stored and decided together, in one transaction."""
    customs = Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))
    traffic.register_signers(customs, IDENTITIES)
    declarations = list(traffic.generate(6, seed=5, bad_share=0, risky_share=0))
    first, second, *_ = [m.body for m in traffic.messages(declarations, IDENTITIES)]
    commits: list[object] = []
    event.listen(customs_engine, "commit", commits.append)
    answers = service.check_and_write(
        customs,
        [
            service._Submission(first, "c-0", EVERYTHING, None),
            service._Submission(b"<not xml", "c-1", EVERYTHING, None),
            service._Submission(second, "c-2", Scope(frozenset({"0000000000"})), None),
            service._Submission(second, "c-3", EVERYTHING, None),
        ],
    )
    assert len(answers) == 4 and len(commits) == 1
    refused = [answers[1], answers[2]]
    assert all(isinstance(a, Failed) for a in refused)
    assert [type(a.error) for a in refused if isinstance(a, Failed)] == [
        MessageFormatError,
        OutOfScope,
    ]
    accepted = [a for a in (answers[0], answers[3]) if isinstance(a, service.SubmissionAccepted)]
    assert len(accepted) == 2
    with Session(customs_engine) as session:
        stored = {d.id: d.return_status for d in session.execute(select(Document)).scalars()}
    assert stored == {d.reference: 120 for a in accepted for d in a.documents}


def test_the_buyers_quota_rows_are_created_read_and_locked_in_one_statement(customs_engine):
    """What a segment may take from a buyer's quota: the rows (created at 0 the first time)
    read and, on PostgreSQL, locked until the transaction ends, with one statement."""
    with Session(customs_engine) as session, session.begin():
        session.add(BuyerQuota(buyer_key="b1", year=2026, used_units=700))
    statements: list[str] = []
    event.listen(
        customs_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    keys = {("b1", 2026), ("b2", 2026), ("b1", 2025)}
    with Session(customs_engine) as session, session.begin():
        session.execute(select(BuyerQuota.year).limit(1))  # the transaction begun
        statements.clear()
        used = intake._lock_quotas(session, keys)
        assert used == {("b1", 2026): 700, ("b2", 2026): 0, ("b1", 2025): 0}
        assert len(statements) == 1
        if customs_engine.dialect.name == "postgresql":
            with customs_engine.connect() as other:
                other.exec_driver_sql("SET lock_timeout = '200ms'")
                with pytest.raises(OperationalError, match="lock timeout"):
                    other.execute(
                        update(BuyerQuota)
                        .where(BuyerQuota.buyer_key == "b1")  # type: ignore[arg-type]
                        .values(used_units=1)
                    )
    with Session(customs_engine) as session:
        rows = session.execute(select(BuyerQuota)).scalars().all()
    assert {(q.buyer_key, q.year, q.used_units) for q in rows} == {
        ("b1", 2026, 700),
        ("b2", 2026, 0),
        ("b1", 2025, 0),
    }


def test_documents_read_back_take_the_content_this_process_parsed_when_it_stored_them(customs):
    """A declaration's documents come in separate messages: deciding the last reads the others
    back, with their content as parsed when stored (`Customs.stored_documents`), the same as
    parsing it from the database again. Only import documents: an export document's head
    changes once stored (its numbers), so it is never kept."""
    from tests.customs.test_export_flow import _inventory

    traffic.register_signers(customs, IDENTITIES)
    bodies = _bodies(count=6, bad_share=0, risky_share=0, changes=False)
    for body in bodies:
        service.submit_message(customs, body, correlation_id="kept")
    export = service.submit_message(customs, _inventory("K1"), correlation_id="kept")
    with Session(customs.engine) as session:
        imports = (
            session.execute(
                select(Document.id).where(
                    Document.message_type.in_(
                        ["CEB311Message", "CEB411Message", "CEB511Message", "CEB621Message"]
                    )
                )
            )
            .scalars()
            .all()
        )
        assert len(imports) == 24
        kept = intake._documents(session, imports, customs.stored_documents)
        # another process (nothing kept) parses each from the database
        fresh = Customs(engine=customs.engine, vault=Vault.from_secret(TEST_DATA_KEY))
        parsed = intake._documents(session, imports, fresh.stored_documents)
    assert len(fresh.stored_documents) == 0
    for document_id in imports:
        content = customs.stored_documents.get(document_id)
        assert content is not None
        assert kept[document_id].public_head() is content[0]
        assert kept[document_id].public_head() == parsed[document_id].public_head()
        assert kept[document_id].line_items() == parsed[document_id].line_items()
        assert kept[document_id].declared(customs) == parsed[document_id].declared(fresh)
    assert customs.stored_documents.get(export.documents[0].reference) is None
