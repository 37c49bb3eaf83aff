"""Risk's routes applied a run at a time, in a few statements.

The customs worker gets risk's routes (release, review, inspect) for import declarations
customs announced ready. For a run of them, the declarations and their inventories are read in
two statements, each route is applied in topic order by the same rules as
`clearance_service.apply_route` (the state machine's transition, a receipt per code it issues,
the decision audited; a stale or repeated route changes nothing), and what changed is written
with one statement per table. The run's receipts are announced together, in the order issued:
one ClearancesChangedV1 of up to CHANGES_PER_EVENT of them instead of a ClearanceChangedV1
each (a release issues two), caused by the route of its first. A run naming a declaration
customs does not hold as an import declaration takes the general path (`apply_route`, one
route at a time), which refuses the unknown one as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.orm import Session

from clearway import jsontext
from customs import keylocks
from customs.assembly import clearance_changed
from customs.db import Decision, Declaration, Document, Receipt
from customs.domain.clearance import ROUTES, TransitionRefused, receipt_info, transition
from customs.timefmt import return_time
from messaging.consumer import HandlerContext
from messaging.rows import write_rows
from schemas.envelope import utc_now
from schemas.events import ClearanceChangedV1, ClearancesChangedV1, RiskAssessedV1

# Receipts in one ClearancesChangedV1 at most (the event's own limit). One record for a run's
# receipts instead of one each: the relay, the broker and every consumer of customs.events pay
# per record (the run's other costs are per declaration).
CHANGES_PER_EVENT = 100

DECLARATION = Declaration.__table__  # type: ignore[attr-defined]
DOCUMENT = Document.__table__  # type: ignore[attr-defined]

# built once: building a statement costs SQLAlchemy more than executing it
_IDS: BindParameter[list[str]] = bindparam("ids", expanding=True)
_DECLARATIONS = select(
    DECLARATION.c.id,
    DECLARATION.c.order_no,
    DECLARATION.c.inventory_document_id,
    DECLARATION.c.status,
    DECLARATION.c.cancelled,
    DECLARATION.c.export_invt_no,
).where(DECLARATION.c.id.in_(_IDS))
_INVENTORIES = select(DOCUMENT.c.id, DOCUMENT.c.head).where(DOCUMENT.c.id.in_(_IDS))
_INSERT_RECEIPT = insert(Receipt.__table__)  # type: ignore[attr-defined]
_INSERT_DECISION = insert(Decision.__table__)  # type: ignore[attr-defined]
_SET_DECLARATION = (
    update(DECLARATION)
    .where(DECLARATION.c.id == bindparam("row_id"))
    .values(
        status=bindparam("v_status"),
        route=bindparam("v_route"),
        risk=bindparam("v_risk"),
        updated_at=bindparam("v_at"),
    )
)
_SET_INVENTORY = (
    update(DOCUMENT)
    .where(DOCUMENT.c.id == bindparam("row_id"))
    .values(return_status=bindparam("v_status"), updated_at=bindparam("v_at"))
)


@dataclass(slots=True)
class _Routed:
    """A declaration of the run as its routes leave it."""

    id: str
    order_no: str
    inventory_id: str | None
    status: int | None
    cancelled: bool
    route: str | None = None
    risk: str | None = None
    changed: bool = False


def apply_routes_run(run: Sequence[tuple[HandlerContext, RiskAssessedV1]]) -> bool:
    """Apply a run of routes to import declarations; False (nothing done) when the run names a
    declaration that is not an import declaration customs holds, for the general path."""
    session = run[0][0].session
    session.flush()  # ORM changes made before the run, if any, are what it reads
    conn = session.connection()
    # the declarations' documents may be arriving in an API request right now
    keylocks.lock_keys(conn, [event.order_no for _, event in run])
    # each route's declaration id as text, once (a UUID's text costs about 4,000 instructions)
    ids = [str(event.declaration_id) for _, event in run]
    wanted = sorted(set(ids))
    declarations = {
        row.id: _Routed(row.id, row.order_no, row.inventory_document_id, row.status, row.cancelled)
        for row in conn.execute(_DECLARATIONS, {"ids": wanted})
        if not row.export_invt_no
    }
    if len(declarations) != len(wanted):
        return False
    inventory_ids = sorted(
        {d.inventory_id for d in declarations.values() if d.inventory_id is not None}
    )
    heads: dict[str, dict[str, str]] = {
        row.id: jsontext.loads(row.head)
        for row in conn.execute(_INVENTORIES, {"ids": inventory_ids})
    }
    now = utc_now()
    returned_at = return_time(now)  # one run, one moment
    receipts: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    inventories: dict[str, int] = {}
    changes: list[tuple[HandlerContext, ClearanceChangedV1]] = []
    for (ctx, event), declaration_id in zip(run, ids, strict=True):
        declaration = declarations[declaration_id]
        current = declaration.status if declaration.status is not None else 0
        action = ROUTES[event.route]
        if declaration.cancelled:
            continue  # refused: the inventory was cancelled
        try:
            step = transition(current, action)
        except TransitionRefused:
            continue  # the declaration moved on (rejected, decided by an officer): stale
        inventory_id = declaration.inventory_id
        assert inventory_id is not None  # a declaration risk routes has its inventory
        # the route as JSON, once: the decision's detail and the declaration's risk column
        risk = event.model_dump_json()
        reason = f"score {event.score}: " + (
            ", ".join(r.code for r in event.reasons) or "no risk indicator"
        )
        for code in step.codes:
            info = receipt_info(code, reason)
            declaration.status = inventories[inventory_id] = code
            receipts.append(
                {
                    "document_id": inventory_id,
                    "return_status": code,
                    "return_info": info,
                    "return_time": returned_at,
                    "created_at": now,
                }
            )
            change = clearance_changed(
                declaration_id=declaration.id,
                document_id=inventory_id,
                order_no=declaration.order_no,
                code=code,
                info=info,
                head=heads[inventory_id],
            )
            changes.append((ctx, change))
        decisions.append(
            {
                "declaration_id": declaration.id,
                "action": action.value,
                "actor": "risk",
                "reason": reason[:1000],
                "detail": risk,
                "from_status": current,
                "to_status": step.state,
                "decided_at": now,
            }
        )
        declaration.route = event.route
        declaration.risk = risk
        declaration.changed = True
    _write(
        session,
        now,
        declarations=declarations.values(),
        inventories=inventories,
        receipts=receipts,
        decisions=decisions,
    )
    for start in range(0, len(changes), CHANGES_PER_EVENT):
        chunk = changes[start : start + CHANGES_PER_EVENT]
        first_ctx, first = chunk[0]
        first_ctx.emit(
            ClearancesChangedV1(changes=tuple(change for _, change in chunk)), key=first.order_no
        )
    return True


def _write(
    session: Session,
    now: datetime,
    *,
    declarations: Iterable[_Routed],
    inventories: dict[str, int],
    receipts: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
) -> None:
    """What the run changed, one statement per table (nothing when every route was stale)."""
    changed = [d for d in declarations if d.changed]
    if not changed:
        return
    write_rows(session, _INSERT_RECEIPT, receipts)
    write_rows(session, _INSERT_DECISION, decisions)
    write_rows(
        session,
        _SET_DECLARATION,
        [
            {
                "row_id": d.id,
                "v_status": d.status,
                "v_route": d.route,
                "v_risk": d.risk,
                "v_at": now,
            }
            for d in changed
        ],
    )
    write_rows(
        session,
        _SET_INVENTORY,
        [{"row_id": i, "v_status": code, "v_at": now} for i, code in inventories.items()],
    )
    session.expire_all()  # ORM objects loaded before are stale now
