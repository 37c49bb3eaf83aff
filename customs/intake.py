"""Customs decides each message's documents on arrival, a run of them in a few statements.

`decide_on_arrival` runs in the transaction of the submission that stores them (the API's);
the worker still decides DocumentReceived events staged by an earlier version, the same way.
Most documents customs receives are new (appType 1) orders, payments, waybills and inventories
whose key is not declared yet. For those, a run of events is decided together: the rows it
needs are read in a handful of queries, each document is decided by the same rules and in the
same order as `deciding.process_received` would (`decide`, inventory numbers, filing into its
declaration, `assembly.evaluate` once the declaration is complete, the buyer's quota), and the
results are written with one statement per table. A new document whose key is declared (by an
earlier transaction, or by an earlier document of the run: a resent order) is refused there as a
duplicate, as `process_received` refuses it, until an event of the general path comes. Every
other event (a change, a deletion, a cancellation, a return, an export message), and each
duplicate after one, is handled by `process_received` in its place: the run is cut there, so
every event sees what it would have seen handled alone.
On arrival, a run that is all new import documents is decided before its documents are
inserted, and they are inserted as decided (no UPDATE of each); any other run has them
inserted first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Connection,
    Update,
    bindparam,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from clearway import jsontext
from clearway.database import Upsert
from customs import keylocks, quota_store
from customs.assembly import (
    QUOTA_REFUSAL,
    ROLES,
    clearance_changed,
    evaluate,
    opened_doc,
    quota_year_of,
)
from customs.ceb.documents import KINDS
from customs.clearance_service import PRODUCER
from customs.context import Customs, ParsedDocument
from customs.db import (
    BuyerQuota,
    Declaration,
    DeclaredKey,
    Document,
    QuotaUse,
    Receipt,
    runtime,
)
from customs.deciding import (
    AcceptedTogether,
    accepted_event,
    process_received,
    rejected_event,
)
from customs.domain import clearance
from customs.domain.declarations import Decision, decide
from customs.domain.matching import Doc
from customs.domain.quota import OVER_ANNUAL_LIMIT
from customs.domain.receipts import ReturnStatus
from customs.numbering import inventory_numbers
from customs.recent import Recent
from customs.timefmt import return_time
from messaging.consumer import ANY_ENVELOPE, HandlerContext
from messaging.rows import write_rows
from schemas.envelope import Envelope, utc_now
from schemas.events import DocumentAcceptedV1, DocumentReceivedV1
from schemas.ids import uuid7

DOCUMENT = Document.__table__  # type: ignore[attr-defined]
DECLARATION = Declaration.__table__  # type: ignore[attr-defined]
QUOTA = BuyerQuota.__table__  # type: ignore[attr-defined]
_ROLE_COLUMNS = {role: f"{role}_document_id" for role in ROLES.values()}
_DECLARATION_STATE = (
    *_ROLE_COLUMNS.values(),
    "status",
    "buyer_key",
    "mismatches",
    "tax",
    "updated_at",
)

Run = Sequence[tuple[HandlerContext, DocumentReceivedV1]]

# The statements of the hot path, built once: building a statement (its IN list of values
# above all) costs SQLAlchemy about three times what executing a built one does.
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_ORDER_NOS: BindParameter[list[str]] = bindparam("order_nos", expanding=True)
_STATUSES = select(DOCUMENT.c.id, DOCUMENT.c.return_status).where(DOCUMENT.c.id.in_(_IDS))
_DECLARED_KEY = DeclaredKey.__table__  # type: ignore[attr-defined]
_IMPORT_DECLARATIONS = select(DECLARATION).where(
    DECLARATION.c.order_no.in_(_ORDER_NOS), DECLARATION.c.export_invt_no == ""
)
_ACCEPTED_WAYBILLS = select(DOCUMENT.c.id, DOCUMENT.c.business_key, DOCUMENT.c.created_at).where(
    DOCUMENT.c.message_type == "CEB511Message",
    DOCUMENT.c.business_key.in_(_ORDER_NOS),
    DOCUMENT.c.return_status == clearance.ACCEPTED,
)


# The buyers' used quota for some years, each row created at 0 the first time and locked until
# the transaction ends (PostgreSQL: the upsert's row lock; SQLite has one writer), in one
# statement per UPSERT_CHUNK buyers: its rows in the order given (sorted: no two transactions
# wait on each other the other way round), each left as it is.
_TAKE_QUOTAS = Upsert(
    QUOTA,
    key=("buyer_key", "year"),
    set_='"used_units" = "buyer_quota"."used_units"',
    returning=("buyer_key", "year", "used_units"),
)
_INSERT_DECLARED_KEY = insert(_DECLARED_KEY)
_INSERT_RECEIPT = insert(Receipt.__table__)  # type: ignore[attr-defined]
_INSERT_DECLARATION = insert(DECLARATION)
_INSERT_QUOTA_USE = insert(QuotaUse.__table__)  # type: ignore[attr-defined]
_SET_DOCUMENT = (
    update(DOCUMENT)
    .where(DOCUMENT.c.id == bindparam("row_id"))
    .values(
        return_status=bindparam("status"), invt_no=bindparam("number"), updated_at=bindparam("at")
    )
)
_SET_QUOTA = (
    update(QUOTA)
    .where(QUOTA.c.buyer_key == bindparam("k"), QUOTA.c.year == bindparam("y"))
    .values(used_units=bindparam("units"))
)


@dataclass(frozen=True)
class Decided:
    """What deciding a message's documents on arrival raised: the events to stage with it, and
    each document's return status (by document id)."""

    events: list[Envelope[Any]]
    statuses: dict[str, int]


def decide_on_arrival(
    customs: Customs,
    conn: Connection,
    arrived: Sequence[tuple[DocumentReceivedV1, str, str]],
    stored: Sequence[Stored] = (),
    store: Store | None = None,
) -> Decided:
    """Decide documents in the transaction that stores them (`arrived`: each document's
    arrival, the correlation id of the request that brought it and the document's id as text,
    which the submission has made already; `stored`: those the transaction inserts, as it
    inserts them), as one run.

    `store` inserts the `stored` documents (and what goes with them) when called, with the
    values deciding gave them, if any (see `Store`); without it they are inserted already.

    Decisions on the documents of one partition key (orderNo for the import set) never
    interleave: on SQLite the transaction holds the one write lock from its first insert on; on
    PostgreSQL it first takes a transaction lock per key (`keylocks`), as one consumer per Kafka
    partition used to. The events raised are caused by the arrival (causation: the document id),
    but for the documents accepted: each request's are announced in one event
    (`deciding.AcceptedTogether`).
    """
    keylocks.lock_keys(conn, [event.business_key for event, _, _ in arrived])
    customs.stored_documents.keep_all(  # for what a later transaction reads back (`_documents`)
        (d.row["id"], (d.public_head, d.head, d.lines))
        for d in stored
        if d.row["message_type"] in ROLES
    )
    staged: list[Envelope[Any]] = []
    together = AcceptedTogether(staged)
    now = utc_now()
    with Session(bind=conn, expire_on_commit=False) as session:
        run = [
            (
                _Arriving(
                    session,
                    staged=staged,
                    together=together,
                    arrival=event,
                    document_id=document_id,
                    correlation_id=correlation_id,
                    arrived_at=now,
                ),
                event,
            )
            for event, correlation_id, document_id in arrived
        ]
        ids = [document_id for _, _, document_id in arrived]
        pending = _Pending(store)
        if run:
            inserted = {d.row["id"]: d.as_row() for d in stored}
            process_received_run(customs, run, inserted, pending, ids=ids)
        pending.write({})  # nothing to decide
        session.flush()
        # those inserted as decided have their status already; the others are read
        statuses = {i: values["return_status"] for i, values in pending.decided.items()}
        unknown = [i for i in ids if i not in statuses]
        if unknown:
            rows = session.execute(_STATUSES, {"ids": unknown}).tuples()
            statuses.update((document_id, status) for document_id, status in rows)
    return Decided(together.events(), statuses)


class _Arriving(HandlerContext):
    """A context of `decide_on_arrival`: a document it accepts joins its request's announcement
    (`deciding.AcceptedTogether`) instead of being staged as an event of its own.

    Its envelope (what the handler's events are caused by, never published itself) is made only
    when something asks for it: most arrivals only join their announcement, which needs the
    request's correlation id alone (an envelope made for each arrival was 1.2% of a
    submission's instructions). The events it stages are caused by the arrival's document
    (`document_id`, its id as text: `causes`), as HandlerContext's would be by its envelope's
    id, without making that envelope for them (a DeclarationReadyV1 a declaration: 0.4%)."""

    def __init__(
        self,
        session: Session,
        *,
        staged: list[Envelope[Any]],
        together: AcceptedTogether,
        arrival: DocumentReceivedV1,
        document_id: str,
        correlation_id: str,
        arrived_at: datetime,
    ) -> None:
        self.session = session
        self.service = PRODUCER
        self._tables = runtime
        self._staged = staged
        self.together = together
        self._arrival = arrival
        self._document_id = document_id
        self.event_id = document_id  # its envelope's, as the envelope below is made
        self._correlation_id = correlation_id
        self._arrived_at = arrived_at
        self._envelope: Envelope[Any] | None = None

    @property  # HandlerContext's field, made when first read
    def envelope(self) -> Envelope[Any]:
        if self._envelope is None:
            arrival = self._arrival
            self._envelope = ANY_ENVELOPE(
                event_id=arrival.document_id,
                occurred_at=self._arrived_at,
                producer=PRODUCER,
                correlation_id=self._correlation_id,
                causation_id=self._correlation_id,
                key=arrival.business_key,
                payload=arrival,
            )
        return self._envelope

    @envelope.setter
    def envelope(self, envelope: Envelope[Any]) -> None:
        self._envelope = envelope

    def causes(self) -> tuple[str, str]:
        return self._correlation_id, self._document_id

    def emit(self, event: BaseModel, *, key: str) -> None:
        if isinstance(event, DocumentAcceptedV1):
            self.together.add(self.service, self._correlation_id, key, event)
        else:
            super().emit(event, key=key)


def process_received_run(
    customs: Customs,
    run: Run,
    inserted: Mapping[str, _Row] | None = None,
    pending: _Pending | None = None,
    *,
    ids: Sequence[str] | None = None,
) -> None:
    """Decide a run of received documents, as `process_received` would one by one
    (`inserted`: rows of the run's documents as this transaction inserts them; the others are
    read). With `pending`, those are still to insert: decided first and inserted as decided
    when the whole run is new import documents (no UPDATE of each afterwards), else inserted
    before anything is decided (the general path reads them). `ids`: the run's document ids as
    text, where the caller has them (a UUID's text costs about 4,000 instructions)."""
    session = run[0][0].session
    session.flush()
    if ids is None:
        ids = [str(event.document_id) for _, event in run]
    found = dict(inserted or {})
    found.update(_documents(session, [i for i in ids if i not in found], customs.stored_documents))
    declared = _declared(session, found.values())
    taken: set[tuple[str, str]] = set()
    hot: list[bool] = []  # whether each event is decided on the hot path
    # New documents whose key is declared, refused on the hot path: until an event of the
    # general path (which may declare or withdraw keys), the keys declared are exactly those
    # declared before the run and those its documents accepted so far took.
    duplicates: set[str] = set()
    general = False  # whether an earlier event of the run took the general path
    for document_id in ids:
        row = found.get(document_id)
        if row is None or not _simple(row):
            hot.append(False)
            general = True
            continue
        key = (row.message_type, row.declared_key)
        duplicate = key in declared or key in taken
        hot.append(not (duplicate and general))
        if not hot[-1]:
            general = True
        elif duplicate:
            duplicates.add(document_id)
        else:
            taken.add(key)
    if pending is not None and (not all(hot) or not found.keys() <= set(ids)):
        pending.write({})  # the general path reads them from the database
    segment: list[tuple[HandlerContext, DocumentReceivedV1, str]] = []
    known: dict[str, _Row] | None = found  # the rows as read, until the general path runs
    for (ctx, event), document_id, on_hot_path in zip(run, ids, hot, strict=True):
        if on_hot_path:
            segment.append((ctx, event, document_id))
            continue
        _Segment.decide(customs, session, segment, known, duplicates=duplicates)
        segment = []
        process_received(customs, ctx, event)
        session.flush()
        known = None
    _Segment.decide(customs, session, segment, known, pending, duplicates=duplicates)


# --- reading -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """A document as the hot path reads and changes it."""

    id: str
    message_type: str
    business_key: str
    declared_key: str
    app_type: str
    head: str
    personal: str | None
    lines: str
    buyer_key: str | None
    return_status: int
    created_at: datetime
    invt_no: str | None
    parsed: dict[str, str] | None = None
    parsed_lines: tuple[Mapping[str, str], ...] | None = None
    opened: dict[str, str] | None = None  # the head with its personal fields, once opened

    def public_head(self) -> dict[str, str]:
        if self.parsed is None:
            self.parsed = jsontext.loads(self.head)
        return self.parsed

    def line_items(self) -> tuple[Mapping[str, str], ...]:
        if self.parsed_lines is None:
            self.parsed_lines = tuple(jsontext.loads(self.lines))
        return self.parsed_lines

    def declared(self, customs: Customs) -> Doc:
        """assembly.declared_doc, from what this row has parsed already."""
        if self.opened is not None:
            return Doc(head=dict(self.opened), lines=self.line_items())
        return opened_doc(customs, self.public_head(), self.personal, self.line_items())


@dataclass(frozen=True, slots=True)
class Stored:
    """A document as its submission just inserted it (`row`, the inserted values), with what
    the submission parsed: deciding it on arrival need not read it back, parse its JSON or
    open its personal fields again."""

    row: Mapping[str, Any]
    public_head: dict[str, str]
    head: dict[str, str]
    lines: tuple[Mapping[str, str], ...]

    def as_row(self) -> _Row:
        # the row's columns in _Row's order (a KeyError if one is missing), taken in C
        row = _Row(*_ROW_VALUES(self.row))  # invt_no: none yet
        row.parsed, row.parsed_lines, row.opened = self.public_head, self.lines, self.head
        return row


# Inserts the documents a submission stores, given the values deciding set in them (by document
# id: return_status, invt_no, updated_at), or none if they are stored before anything is decided.
Store = Callable[[Mapping[str, Mapping[str, Any]]], None]


@dataclass
class _Pending:
    """The documents still to insert: `write` inserts them once (the first call's values, kept
    in `decided`: final, as nothing decides them again in the transaction)."""

    store: Store | None
    written: bool = False
    decided: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def write(self, decided: Mapping[str, Mapping[str, Any]]) -> None:
        if self.store is not None and not self.written:
            self.written = True
            self.decided = decided
            self.store(decided)


_ROW_NAMES = [name for name in _Row.__dataclass_fields__ if name in DOCUMENT.c]
# _Row's fields that are columns come first, in its order: they can be given by position
assert list(_Row.__dataclass_fields__)[: len(_ROW_NAMES)] == _ROW_NAMES
_ROW_VALUES = itemgetter(*_ROW_NAMES)
_ROWS = select(*(DOCUMENT.c[name] for name in _ROW_NAMES)).where(DOCUMENT.c.id.in_(_IDS))


def _documents(
    session: Session, ids: Iterable[str], recent: Recent[str, ParsedDocument]
) -> dict[str, _Row]:
    """The documents `ids` as stored, each import document with its content as parsed when
    this process stored it, if it is among those it keeps (`Customs.stored_documents`)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = {row[0]: _Row(*row) for row in session.execute(_ROWS, {"ids": wanted})}
    for document_id, row in rows.items():
        parsed = recent.get(document_id) if row.message_type in ROLES else None
        if parsed is not None:
            row.parsed, row.opened, row.parsed_lines = parsed
    return rows


def _simple(row: _Row) -> bool:
    """A new import document still to decide: what the hot path handles."""
    return (
        row.message_type in ROLES
        and row.app_type == "1"
        and row.return_status == ReturnStatus.DECLARING
    )


@cache
def _decision(message_type: str, app_type: str, declared: bool) -> Decision:
    """What `decide` makes of a new document on the hot path: the same for every document of
    a type (its kind's label and codes), new or a duplicate; a few at most (`_simple` rows)."""
    kind = KINDS[message_type]
    return decide(
        message_type=message_type,
        label=kind.label,
        app_type=app_type,
        declared=declared,
        duplicate_code=kind.duplicate_code,
        accepted_code=clearance.accepted_code(kind.receipt_message),
    )


def _declared(session: Session, rows: Iterable[_Row]) -> set[tuple[str, str]]:
    keys = {(row.message_type, row.declared_key) for row in rows if _simple(row)}
    if not keys:
        return set()
    by_type: dict[str, list[str]] = defaultdict(list)
    for message_type, key in keys:
        by_type[message_type].append(key)
    params: dict[str, Any] = {}
    for at, (message_type, wanted) in enumerate(sorted(by_type.items())):
        params[f"type_{at}"], params[f"keys_{at}"] = message_type, wanted
    return {
        (message_type, key)
        for message_type, key in session.execute(_declared_query(len(by_type)), params).tuples()
    }


@cache
def _declared_query(types: int) -> CompoundSelect[tuple[str, str]]:
    """The declared keys among some keys of `types` message types, in one statement (one round
    trip on PostgreSQL): a UNION ALL of one SELECT per type, each on the unique index, as
    `(type, key) IN (...)` would not be on SQLite (it scans the table)."""
    return union_all(
        *(
            select(_DECLARED_KEY.c.message_type, _DECLARED_KEY.c.declared_key).where(
                _DECLARED_KEY.c.message_type == bindparam(f"type_{at}"),
                _DECLARED_KEY.c.declared_key.in_(bindparam(f"keys_{at}", expanding=True)),
            )
            for at in range(types)
        )
    )


# A new declaration's columns with their defaults (those with a server default left to the
# database), copied for each declaration rather than read off the table each time.
_NEW_DECLARATION: dict[str, Any] = {
    column.name: column.default.arg if column.default is not None else None
    for column in DECLARATION.columns
    if column.server_default is None
}


# --- one segment of new import documents ---------------------------------------------------


@dataclass
class _Segment:
    """New import documents decided together, and everything they change, written at the end."""

    customs: Customs
    session: Session
    now: datetime
    returned_at: str  # `now` as receipts write it
    documents: dict[str, _Row]
    declarations: dict[str, dict[str, Any]]
    by_order: dict[str, list[dict[str, Any]]]
    waybills: dict[str, tuple[datetime, str]]
    quota_used: dict[tuple[str, int], int]
    numbers: dict[tuple[str, int], list[str]]
    duplicates: set[str]  # documents refused as duplicates (their key is declared)
    new_declarations: list[str] = field(default_factory=list)
    changed_documents: set[str] = field(default_factory=set)
    changed_quota: set[tuple[str, int]] = field(default_factory=set)
    declared_keys: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    quota_uses: list[dict[str, Any]] = field(default_factory=list)
    read: dict[str, dict[str, Any]] = field(default_factory=dict)  # declarations as read

    @classmethod
    def decide(
        cls,
        customs: Customs,
        session: Session,
        items: Sequence[tuple[HandlerContext, DocumentReceivedV1, str]],
        known: dict[str, _Row] | None,
        pending: _Pending | None = None,
        *,
        duplicates: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Decide `items` (each event with its document's id as text); `known`: their rows, if
        read in this transaction and unchanged since (`pending`: those not inserted yet, to
        insert as decided); those in `duplicates` are refused as duplicates."""
        if not items:
            return
        ids = [document_id for _, _, document_id in items]
        segment = cls._read(customs, session, ids, known, {i for i in ids if i in duplicates})
        for ctx, event, document_id in items:
            segment._take(ctx, event, document_id)
        if pending is not None and not pending.written:
            decided = {i: segment._decided(i) for i in ids}
            pending.write(decided)
            segment.changed_documents -= decided.keys()  # inserted as decided
        segment._write()
        session.expire_all()  # ORM objects loaded before are stale now

    @classmethod
    def _read(
        cls,
        customs: Customs,
        session: Session,
        ids: list[str],
        known: dict[str, _Row] | None,
        duplicates: set[str],
    ) -> _Segment:
        recent = customs.stored_documents
        documents = (
            {i: known[i] for i in ids} if known is not None else _documents(session, ids, recent)
        )
        taking = [i for i in ids if i not in duplicates]  # the documents to file, if accepted
        order_nos = {"order_nos": list({documents[i].public_head()["orderNo"] for i in taking})}
        declarations: dict[str, dict[str, Any]] = {}
        if taking:  # each row a dict by its names (zip: a third of dict(row._mapping)'s cost)
            result = session.execute(_IMPORT_DECLARATIONS, order_nos)
            names = tuple(result.keys())
            for row in result:
                declaration = dict(zip(names, row, strict=True))
                declarations[declaration["id"]] = declaration
        read = {i: dict(d) for i, d in declarations.items()}
        by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for declaration in declarations.values():
            by_order[declaration["order_no"]].append(declaration)
        waybills: dict[str, tuple[datetime, str]] = {}
        for waybill_id, order_no, created_at in (
            session.execute(_ACCEPTED_WAYBILLS, order_nos) if taking else ()
        ):
            _keep_latest(waybills, order_no, created_at, waybill_id)
        referenced = {
            declaration[column]
            for declaration in declarations.values()
            for column in _ROLE_COLUMNS.values()
        }
        referenced |= {waybill_id for _, waybill_id in waybills.values()}
        referenced -= {None, *documents}
        documents.update(_documents(session, referenced, recent))
        now = utc_now()
        return cls(
            customs=customs,
            session=session,
            now=now,
            returned_at=return_time(now),
            documents=documents,
            declarations=declarations,
            by_order=by_order,
            waybills=waybills,
            quota_used=_lock_quotas(session, _quota_keys(declarations.values(), documents, taking)),
            numbers=_numbers(session, [documents[i] for i in taking]),
            duplicates=duplicates,
            read=read,
        )

    # -- deciding one document, as process_received does ------------------------------------
    def _take(self, ctx: HandlerContext, event: DocumentReceivedV1, document_id: str) -> None:
        row = self.documents[document_id]
        decision = _decision(row.message_type, row.app_type, row.id in self.duplicates)
        head = row.public_head()
        if not decision.accepted:  # a duplicate: its receipt and the rejection, nothing filed
            self._set_status(row, decision.return_status, decision.return_info)
            ctx.emit(
                rejected_event(
                    event,
                    head,
                    return_status=decision.return_status,
                    return_info=decision.return_info,
                ),
                key=row.business_key,
            )
            return
        assert decision.register and not decision.unregister
        if row.message_type == "CEB621Message" and row.invt_no is None:
            year = quota_year_of(head)
            row.invt_no = self.numbers[(head.get("customsCode", "0000"), year)].pop(0)
        self.declared_keys.append(
            {
                "message_type": row.message_type,
                "declared_key": row.declared_key,
                "document_id": row.id,
            }
        )
        self._set_status(row, decision.return_status, decision.return_info)
        ctx.emit(
            accepted_event(
                event,
                row.declared_key,
                head,
                line_count=len(row.line_items()),
                return_status=decision.return_status,
            ),
            key=row.business_key,
        )
        if row.message_type == "CEB511Message" and decision.return_status == clearance.ACCEPTED:
            _keep_latest(self.waybills, row.business_key, row.created_at, row.id)
        self._attach(ctx, row)

    def _decided(self, document_id: str) -> dict[str, Any]:
        """What deciding set in a document's row (as `_write` would UPDATE it)."""
        row = self.documents[document_id]
        return {"return_status": row.return_status, "invt_no": row.invt_no, "updated_at": self.now}

    def _set_status(self, row: _Row, code: int, info: str) -> None:
        row.return_status = code
        self.changed_documents.add(row.id)
        self.receipts.append(
            {
                "document_id": row.id,
                "return_status": code,
                "return_info": info,
                "return_time": self.returned_at,
                "created_at": self.now,
            }
        )

    # -- assembly.attach, on the rows in memory -------------------------------------------
    def _attach(self, ctx: HandlerContext, row: _Row) -> None:
        role = ROLES[row.message_type]
        head = row.public_head()
        if role == "waybill":
            targets = list(self.by_order.get(head["orderNo"], ()))
        else:
            ebp_code = head["ebpCode"]
            found = [d for d in self.by_order.get(head["orderNo"], ()) if d["ebp_code"] == ebp_code]
            targets = found or [self._new_declaration(head["ebpCode"], head["orderNo"])]
        for declaration in targets:
            declaration[_ROLE_COLUMNS[role]] = row.id
            if role == "inventory":
                declaration["status"] = clearance.ACCEPTED
                declaration["buyer_key"] = row.buyer_key
            if declaration["waybill_document_id"] is None:
                latest = self.waybills.get(declaration["order_no"])
                declaration["waybill_document_id"] = latest[1] if latest else None
            declaration["updated_at"] = self.now
            if (
                all(declaration[column] is not None for column in _ROLE_COLUMNS.values())
                and declaration["status"] == clearance.ACCEPTED
                and declaration["tax"] is None
            ):
                self._assess(ctx, declaration)

    def _new_declaration(self, ebp_code: str, order_no: str) -> dict[str, Any]:
        declaration = dict(_NEW_DECLARATION)
        declaration.update(
            id=str(uuid7()),
            export_invt_no="",  # an import declaration
            ebp_code=ebp_code,
            order_no=order_no,
            created_at=self.now,
            updated_at=self.now,
        )
        self.declarations[declaration["id"]] = declaration
        self.by_order[order_no].append(declaration)
        self.new_declarations.append(declaration["id"])
        return declaration

    # -- assembly.assess, on the rows in memory -------------------------------------------
    def _assess(self, ctx: HandlerContext, declaration: dict[str, Any]) -> None:
        rows = {role: self.documents[declaration[column]] for role, column in _ROLE_COLUMNS.items()}
        docs = {role: row.declared(self.customs) for role, row in rows.items()}
        buyer_key = declaration["buyer_key"]
        quota_key = (buyer_key, quota_year_of(docs["inventory"].head))
        used_units = self.quota_used.get(quota_key, 0) if buyer_key else 0
        verdict = evaluate(
            self.customs,
            declaration_id=declaration["id"],
            order_no=declaration["order_no"],
            ebp_code=declaration["ebp_code"],
            buyer_key=buyer_key,
            docs=docs,
            statuses={role: row.return_status for role, row in rows.items()},
            used=quota_store.from_units(used_units) if buyer_key else Decimal("0"),
        )
        declaration["mismatches"] = verdict.mismatches
        if verdict.refusal is not None:
            self._reject(ctx, declaration, rows["inventory"], *verdict.refusal)
            return
        assert verdict.ready is not None
        units = quota_store.to_units(verdict.quota_amount)
        limit = quota_store.to_units(self.customs.tax_settings.annual_limit)
        if buyer_key is None or used_units + units > limit:
            self._reject(ctx, declaration, rows["inventory"], OVER_ANNUAL_LIMIT, QUOTA_REFUSAL)
            return
        self.quota_used[quota_key] = used_units + units
        self.changed_quota.add(quota_key)
        self.quota_uses.append(
            {
                "declaration_id": declaration["id"],
                "buyer_key": buyer_key,
                "year": quota_key[1],
                "amount_units": units,
                "restored_units": 0,
            }
        )
        declaration["tax"] = verdict.tax
        ctx.emit(verdict.ready, key=declaration["order_no"])

    def _reject(
        self,
        ctx: HandlerContext,
        declaration: dict[str, Any],
        inventory: _Row,
        code: int,
        info: str,
    ) -> None:
        """assembly.issue: the inventory's receipt and the clearance event."""
        info = info[:1000]
        declaration["status"] = code
        declaration["updated_at"] = self.now
        self._set_status(inventory, code, info)
        ctx.emit(
            clearance_changed(
                declaration_id=declaration["id"],
                document_id=inventory.id,
                order_no=declaration["order_no"],
                code=code,
                info=info,
                head=inventory.public_head(),
            ),
            key=declaration["order_no"],
        )

    # -- writing ------------------------------------------------------------------------------
    def _write(self) -> None:
        session = self.session
        write_rows(session, _INSERT_DECLARED_KEY, self.declared_keys)
        changed = [self.documents[i] for i in self.changed_documents]
        write_rows(
            session,
            _SET_DOCUMENT,
            [
                {"row_id": r.id, "status": r.return_status, "number": r.invt_no, "at": self.now}
                for r in changed
            ],
        )
        write_rows(session, _INSERT_RECEIPT, self.receipts)
        if self.new_declarations:
            write_rows(
                session, _INSERT_DECLARATION, [self.declarations[i] for i in self.new_declarations]
            )
        # a declaration read is updated in the columns that changed only, those of the same
        # columns in one statement: SQLite keeps up each index on a column SET, changed or not
        # (an order's payment or waybill changes neither status nor buyer; -0.35% of a
        # submission's instructions against all of _DECLARATION_STATE set each time)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for i, before in self.read.items():
            current = self.declarations[i]
            names = tuple(n for n in _DECLARATION_STATE if current[n] != before[n])
            if names:
                by_columns[names].append({"row_id": i, **{f"v_{n}": current[n] for n in names}})
        for names, rows in by_columns.items():
            write_rows(session, _set_declaration(names), rows)
        if self.changed_quota:
            write_rows(
                session,
                _SET_QUOTA,
                [
                    {"k": key, "y": year, "units": self.quota_used[(key, year)]}
                    for key, year in self.changed_quota
                ],
            )
        if self.quota_uses:
            write_rows(session, _INSERT_QUOTA_USE, self.quota_uses)


@cache
def _set_declaration(names: tuple[str, ...]) -> Update:
    """An UPDATE of a declaration's columns `names` (of _DECLARATION_STATE: at most 2^9)."""
    return (
        update(DECLARATION)
        .where(DECLARATION.c.id == bindparam("row_id"))
        .values({name: bindparam(f"v_{name}") for name in names})
    )


def _keep_latest(
    latest: dict[str, tuple[datetime, str]], order_no: str, created_at: datetime, document_id: str
) -> None:
    """assembly._accepted_waybill: the most recently created accepted waybill of an order."""
    held = latest.get(order_no)
    if held is None or created_at > held[0]:
        latest[order_no] = (created_at, document_id)


def _quota_keys(
    declarations: Iterable[dict[str, Any]], documents: dict[str, _Row], ids: Sequence[str]
) -> set[tuple[str, int]]:
    """The buyers' years the segment may take quota from."""
    inventories = [
        documents[d["inventory_document_id"]]
        for d in declarations
        if d["inventory_document_id"] in documents
    ]
    inventories += [documents[i] for i in ids if documents[i].message_type == "CEB621Message"]
    return {
        (row.buyer_key, quota_year_of(row.public_head()))
        for row in inventories
        if row.buyer_key is not None
    }


def _lock_quotas(session: Session, keys: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The buyers' used quota, their rows locked until the transaction ends (PostgreSQL; SQLite
    has one writer), so that what is taken in memory stays within the limit when written."""
    if not keys:
        return {}
    rows = [{"buyer_key": key, "year": year, "used_units": 0} for key, year in sorted(keys)]
    return {(key, year): units for key, year, units in _TAKE_QUOTAS.execute(session, rows)}


def _numbers(session: Session, rows: Sequence[_Row]) -> dict[tuple[str, int], list[str]]:
    """Inventory numbers for the segment's new inventories, taken per district and year."""
    wanted: dict[tuple[str, int], int] = defaultdict(int)
    for row in rows:
        if row.message_type == "CEB621Message" and row.invt_no is None:
            head = row.public_head()
            wanted[(head.get("customsCode", "0000"), quota_year_of(head))] += 1
    return {
        (code, year): inventory_numbers(
            session, customs_code=code, year=year, ie_flag="I", count=count
        )
        for (code, year), count in sorted(wanted.items())
    }
