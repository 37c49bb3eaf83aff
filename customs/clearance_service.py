"""Clearance decisions on import declarations: the risk route and the officers' actions; and
the officers' actions on export inventories (review, release, reject: `customs.export_flow`).

Every decision is a transition of the inventory's state machine (`customs.domain.clearance`),
recorded with who took it, when and why, and issued as receipts and events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import snapshot
from customs import export_flow, keylocks, quota_store, routing, visibility
from customs.assembly import documents_of, full_head, issue
from customs.context import Customs
from customs.db import Decision, Declaration, Document, PersonalDataReveal, Receipt, runtime
from customs.domain.access import EVERYTHING, Scope
from customs.domain.clearance import (
    INSPECTION,
    ROUTES,
    Action,
    TransitionRefused,
    receipt_info,
    transition,
)
from customs.domain.personal import PERSONAL_FIELDS, shown
from messaging.consumer import HandlerContext
from messaging.outbox import stage
from schemas.envelope import Envelope, utc_now
from schemas.events import InspectionConcludedV1, RiskAssessedV1

PRODUCER = "customs"
# Decisions after which the purchase does not go through: the buyer's quota is given back.
_RESTORES_QUOTA = frozenset({Action.REJECT, Action.RETURN_ABROAD})


class DeclarationNotFound(LookupError):
    """No such declaration."""


@dataclass(frozen=True, slots=True)
class OfficerDecision:
    """An officer's action on a declaration, with the reason the audit keeps."""

    action: Action
    officer: str
    reason: str
    detention_code: int | None = None
    findings: str | None = None
    finding_codes: tuple[str, ...] = ()


def _apply(
    session: Session,
    emit: Any,
    declaration: Declaration,
    action: Action,
    *,
    actor: str,
    reason: str,
    detention_code: int | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[int, ...]:
    current = declaration.status if declaration.status is not None else 0
    if declaration.cancelled:
        raise TransitionRefused(current, action, frozenset(), why="the inventory was cancelled")
    if declaration.export_invt_no:  # an export inventory: the actions CEB604 has codes for
        step = export_flow.officer_step(session, declaration, action)
    else:
        step = transition(current, action, detention_code=detention_code)
    inventory = session.get(Document, declaration.inventory_document_id)
    for code in step.codes:
        issue(
            session,
            emit,
            declaration,
            inventory=inventory,
            code=code,
            info=receipt_info(code, reason),
        )
    session.add(
        Decision(
            declaration_id=declaration.id,
            action=action.value,
            actor=actor,
            reason=reason[:1000],
            detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            from_status=current,
            to_status=step.state,
            decided_at=utc_now(),
        )
    )
    if action in _RESTORES_QUOTA:
        quota_store.restore(session, declaration_id=declaration.id)
    if current == INSPECTION and action in _CONCLUDES_INSPECTION:
        _conclude_inspection(emit, declaration, action, actor=actor, detail=detail or {})
    return step.codes


# An officer's decision on a declaration under inspection (500) concludes the inspection, and is
# risk's label: released = nothing found; detained, returned abroad or rejected = found. Other
# decisions (e.g. release after a documentary review) are not labels: nothing was inspected.
_CONCLUDES_INSPECTION = {
    Action.RELEASE: "released",
    Action.DETAIN: "detained",
    Action.RETURN_ABROAD: "returned_abroad",
    Action.REJECT: "rejected",
}


def _conclude_inspection(
    emit: Any, declaration: Declaration, action: Action, *, actor: str, detail: dict[str, Any]
) -> None:
    codes = tuple(detail.get("findingCodes", ()))
    if action is Action.DETAIN and detail.get("detentionCode"):
        codes = (*codes, f"detention-{detail['detentionCode']}")
    emit(
        InspectionConcludedV1(
            declaration_id=uuid.UUID(declaration.id),
            order_no=declaration.order_no,
            found=action is not Action.RELEASE,
            outcome=_CONCLUDES_INSPECTION[action],
            finding_codes=codes,
            findings=detail.get("findings"),
            decided_by=actor,
            decided_at=utc_now(),
        ),
        key=declaration.order_no,
    )


def apply_routes(customs: Customs, run: Sequence[tuple[HandlerContext, RiskAssessedV1]]) -> None:
    """`apply_route` for a run of routes: a run of import declarations' routes in a few
    statements (`routing`), any other run one route at a time, its declarations and
    inventories read at once."""
    if routing.apply_routes_run(run):
        return
    session = run[0][0].session
    # the declarations' documents may be arriving in an API request right now
    keylocks.lock_keys(session.connection(), [event.order_no for _, event in run])
    declarations = (
        session.execute(
            select(Declaration).where(
                col(Declaration.id).in_({str(e.declaration_id) for _, e in run})
            )
        )
        .scalars()
        .all()
    )
    inventories = {d.inventory_document_id for d in declarations} - {None}
    # kept referenced: session.get finds them in the identity map instead of querying
    _held = (
        session.execute(select(Document).where(col(Document.id).in_(inventories))).scalars().all()
    )
    for ctx, event in run:
        apply_route(customs, ctx, event)


def apply_route(customs: Customs, ctx: HandlerContext, event: RiskAssessedV1) -> None:
    """Move a declaration along the route risk chose (stale or repeated routes change nothing)."""
    declaration = ctx.session.get(Declaration, str(event.declaration_id))
    if declaration is None:
        raise DeclarationNotFound(f"no declaration {event.declaration_id}")
    action = ROUTES[event.route]
    try:
        _apply(
            ctx.session,
            ctx.emit,
            declaration,
            action,
            actor="risk",
            reason=f"score {event.score}: "
            + (", ".join(r.code for r in event.reasons) or "no risk indicator"),
            detail=event.model_dump(mode="json"),
        )
    except TransitionRefused:
        return  # the declaration moved on (rejected, decided by an officer): the route is stale
    declaration.route = event.route
    declaration.risk = event.model_dump_json()


class _Staged:
    """Collects events raised by an API use case; they go to the outbox in its transaction."""

    def __init__(self, correlation_id: str) -> None:
        self.correlation_id = correlation_id
        self.envelopes: list[Envelope[Any]] = []

    def __call__(self, event: BaseModel, *, key: str) -> None:
        self.envelopes.append(
            Envelope[Any](
                producer=PRODUCER,
                correlation_id=self.correlation_id,
                causation_id=self.correlation_id,
                key=key,
                payload=event,
            )
        )


def decide(
    customs: Customs, declaration_id: str, decision: OfficerDecision, *, correlation_id: str
) -> tuple[int, ...]:
    """An officer's decision: release, inspect, detain, return, reject or close; audited."""
    staged = _Staged(correlation_id)
    with Session(customs.engine) as session, session.begin():
        order_no = session.execute(
            select(col(Declaration.order_no)).where(col(Declaration.id) == declaration_id)
        ).scalar_one_or_none()
        if order_no is None:
            raise DeclarationNotFound(f"no declaration {declaration_id}")
        # the order's key first, then its row: the order every decision takes them in
        keylocks.lock_keys(session.connection(), [order_no])
        declaration = session.get(Declaration, declaration_id, with_for_update=True)
        assert declaration is not None  # declarations are never deleted
        codes = _apply(
            session,
            staged,
            declaration,
            decision.action,
            actor=decision.officer,
            reason=decision.reason,
            detention_code=decision.detention_code,
            detail={
                k: v
                for k, v in (
                    ("findings", decision.findings),
                    ("findingCodes", list(decision.finding_codes)),
                    ("detentionCode", decision.detention_code),
                )
                if v
            }
            or None,
        )
        session.flush()
        stage(session, runtime, staged.envelopes)
    return codes


def declaration_view(customs: Customs, declaration_id: str) -> dict[str, Any]:
    """A declaration as an officer reviews it: its documents (personal data masked), the match
    differences, the tax, the risk reasons, the receipts and the decisions taken."""
    with snapshot(customs.engine) as session:
        declaration = session.get(Declaration, declaration_id)
        if declaration is None:
            raise DeclarationNotFound(f"no declaration {declaration_id}")
        documents: dict[str, Any] = {}
        timeline: list[dict[str, Any]] = []
        for role, document in documents_of(session, declaration).items():
            if document is None:
                documents[role] = None
                continue
            head = full_head(customs, document)
            documents[role] = {
                "reference": document.id,
                "messageType": document.message_type,
                "returnStatus": document.return_status,
                "head": {k: shown(k, v) for k, v in head.items()},
                "lines": json.loads(document.lines),
            }
            for receipt in session.execute(
                select(Receipt)
                .where(col(Receipt.document_id) == document.id)
                .order_by(col(Receipt.id))
            ).scalars():
                timeline.append(
                    {
                        "document": role,
                        "returnStatus": receipt.return_status,
                        "returnTime": receipt.return_time,
                        "returnInfo": receipt.return_info,
                    }
                )
        reveals = [
            {"officer": r.officer, "reason": r.reason, "at": r.revealed_at.isoformat()}
            for r in session.execute(
                select(PersonalDataReveal)
                .where(col(PersonalDataReveal.declaration_id) == declaration_id)
                .order_by(col(PersonalDataReveal.id))
            ).scalars()
        ]
        decisions = [
            {
                "action": d.action,
                "actor": d.actor,
                "reason": d.reason,
                "from": d.from_status,
                "to": d.to_status,
                "at": d.decided_at.isoformat(),
            }
            for d in session.execute(
                select(Decision)
                .where(col(Decision.declaration_id) == declaration_id)
                .order_by(col(Decision.id))
            ).scalars()
        ]
    return {
        "id": declaration.id,
        "direction": declaration.direction,
        "invtNo": declaration.export_invt_no or None,
        "orderNo": declaration.order_no,
        "ebpCode": declaration.ebp_code,
        "status": declaration.status,
        "route": declaration.route,
        "risk": json.loads(declaration.risk) if declaration.risk else None,
        "mismatches": json.loads(declaration.mismatches) if declaration.mismatches else [],
        "tax": json.loads(declaration.tax) if declaration.tax else None,
        "documents": documents,
        "timeline": sorted(timeline, key=lambda r: r["returnTime"]),
        "decisions": decisions,
        "reveals": reveals,
    }


def reveal(
    customs: Customs, declaration_id: str, *, officer: str, reason: str
) -> dict[str, dict[str, str]]:
    """A declaration's personal data unmasked, for an officer who says why; always audited."""
    with Session(customs.engine) as session, session.begin():
        declaration = session.get(Declaration, declaration_id)
        if declaration is None:
            raise DeclarationNotFound(f"no declaration {declaration_id}")
        revealed: dict[str, dict[str, str]] = {}
        for role, document in documents_of(session, declaration).items():
            if document is None:
                continue
            head = full_head(customs, document)
            revealed[role] = {k: v for k, v in head.items() if k in PERSONAL_FIELDS}
        session.add(
            PersonalDataReveal(
                declaration_id=declaration_id,
                officer=officer,
                reason=reason,
                revealed_at=utc_now(),
            )
        )
    return revealed


def find_declarations(
    customs: Customs,
    *,
    status: int | None = None,
    order_no: str | None = None,
    scope: Scope = EVERYTHING,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Declarations by status (e.g. 300, the review queue) or order number, newest first."""
    query = (
        select(Declaration)
        .where(*visibility.declaration_filter(scope))
        .order_by(col(Declaration.updated_at).desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(col(Declaration.status) == status)
    if order_no is not None:
        query = query.where(col(Declaration.order_no) == order_no)
    with Session(customs.engine) as session:
        return [
            {
                "id": d.id,
                "direction": d.direction,
                "invtNo": d.export_invt_no or None,
                "orderNo": d.order_no,
                "ebpCode": d.ebp_code,
                "status": d.status,
                "route": d.route,
                "updatedAt": d.updated_at.isoformat(),
            }
            for d in session.execute(query).scalars()
        ]
