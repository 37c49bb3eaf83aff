"""The officers' dashboard: the review queue and the clearance statistics (read-only)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import col

from clearway.database import as_utc, snapshot
from customs import quota_store
from customs.assembly import quota_year_of
from customs.clearance_service import DeclarationNotFound
from customs.context import Customs
from customs.db import Decision, Declaration, Document, Receipt
from customs.domain import dashboard
from customs.domain.dashboard import DeclarationFacts, QueueFilter, QueueItem
from schemas.envelope import utc_now


def review_queue(customs: Customs, chosen: QueueFilter, limit: int = 200) -> list[dict[str, Any]]:
    """Declarations waiting for an officer, highest risk first, with what filters use."""
    with snapshot(customs.engine) as session:
        rows = session.execute(
            select(Declaration, col(Document.lines), col(Document.head))
            .outerjoin(Document, col(Document.id) == col(Declaration.inventory_document_id))
            .where(col(Declaration.status).in_(dashboard.AWAITING_OFFICER))
        ).all()
    items = []
    for declaration, lines, head in rows:
        risk = json.loads(declaration.risk) if declaration.risk else {}
        parsed_lines = json.loads(lines) if lines else []
        parsed_head = json.loads(head) if head else {}
        items.append(
            QueueItem(
                declaration_id=declaration.id,
                order_no=declaration.order_no,
                ebp_code=declaration.ebp_code,
                ebc_code=parsed_head.get("ebcCode", ""),
                status=declaration.status,
                route=declaration.route,
                score=int(risk.get("score", 0)),
                reasons=tuple(r["code"] for r in risk.get("reasons", ())),
                hs_chapters=tuple(sorted({ln.get("gcode", "")[:2] for ln in parsed_lines})),
                waiting_since=as_utc(declaration.updated_at),
            )
        )
    now = utc_now()
    return [
        {
            "id": i.declaration_id,
            "orderNo": i.order_no,
            "ebpCode": i.ebp_code,
            "ebcCode": i.ebc_code,
            "status": i.status,
            "route": i.route,
            "score": i.score,
            "reasons": list(i.reasons),
            "hsChapters": list(i.hs_chapters),
            "waitingSince": i.waiting_since.isoformat(),
            "waitingMinutes": int((now - i.waiting_since).total_seconds() // 60),
        }
        for i in dashboard.queue(items, chosen, now)[:limit]
    ]


def statistics(customs: Customs, days: int = 30) -> dict[str, Any]:
    """Declarations per day, release / rejection / inspection hit rates, time to release, and
    the most frequent rejection reasons, over the last `days` days."""
    since = utc_now() - timedelta(days=days)
    with snapshot(customs.engine) as session:
        declarations = session.execute(
            select(
                col(Declaration.id),
                col(Declaration.created_at),
                col(Declaration.status),
                col(Declaration.inventory_document_id),
            ).where(col(Declaration.created_at) >= since)
        ).all()
        inspected = set(
            session.execute(
                select(col(Decision.declaration_id)).where(col(Decision.to_status) == 500)
            ).scalars()
        )
        released: dict[str, Any] = dict(
            (row[0], row[1])
            for row in session.execute(
                select(col(Receipt.document_id), func.min(col(Receipt.created_at)))
                .where(col(Receipt.return_status) == dashboard.RELEASED)
                .group_by(col(Receipt.document_id))
            )
        )
        rejections = session.execute(
            select(col(Receipt.return_status), col(Receipt.return_info)).where(
                col(Receipt.created_at) >= since,
                or_(col(Receipt.return_status) < 0, col(Receipt.return_status) == 100),
            )
        ).all()
    facts = [
        DeclarationFacts(
            created=as_utc(created),
            status=status,
            inspected=declaration_id in inspected,
            released_at=as_utc(released[inventory]) if inventory in released else None,
        )
        for declaration_id, created, status, inventory in declarations
    ]
    return {
        "days": days,
        "declarations": len(facts),
        "perDay": [
            {"day": d.isoformat(), "count": n} for d, n in dashboard.daily_counts(facts).items()
        ],
        **dashboard.rates(facts),
        "secondsToRelease": dashboard.release_times(facts),
        "topRejections": dashboard.top_reasons((s, i) for s, i in rejections),
    }


def buyer_history(customs: Customs, declaration_id: str, limit: int = 50) -> dict[str, Any]:
    """The buyer's other declarations and the quota used this year, by keyed pseudonym only:
    an officer sees the buyer's pattern without the buyer's identity."""
    with snapshot(customs.engine) as session:
        declaration = session.get(Declaration, declaration_id)
        if declaration is None:
            raise DeclarationNotFound(f"no declaration {declaration_id}")
        if declaration.buyer_key is None:
            return {"declarations": [], "quotaUsedThisYear": None}
        inventory = (
            session.get(Document, declaration.inventory_document_id)
            if declaration.inventory_document_id
            else None
        )
        year = (
            quota_year_of(json.loads(inventory.head))
            if inventory is not None
            else as_utc(declaration.created_at).year
        )
        others = session.execute(
            select(Declaration)
            .where(
                col(Declaration.buyer_key) == declaration.buyer_key,
                col(Declaration.id) != declaration_id,
            )
            .order_by(col(Declaration.created_at).desc())
            .limit(limit)
        ).scalars()
        history = [
            {
                "id": d.id,
                "orderNo": d.order_no,
                "ebpCode": d.ebp_code,
                "status": d.status,
                "route": d.route,
                "dutiableValue": json.loads(d.tax)["dutiableValue"] if d.tax else None,
                "createdAt": d.created_at.isoformat(),
            }
            for d in others
        ]
        used = quota_store.used(session, buyer_key=declaration.buyer_key, year=year)
    return {
        "declarations": history,
        "quotaYear": year,
        "quotaUsedThisYear": str(used.quantize(Decimal("0.01"))),
    }
