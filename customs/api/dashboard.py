"""Routes for the officers' dashboard: the review queue and the statistics."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from customs import dashboard
from customs.api.problems import OfficersOnly
from customs.api.scope import CallerScope
from customs.domain.dashboard import QueueFilter

router = APIRouter()


@router.get("/review-queue")
async def review_queue(
    request: Request,
    scope: CallerScope,
    *,
    route: Annotated[str | None, Query(pattern=r"^(release|review|inspect)$")] = None,
    reason: Annotated[str | None, Query(max_length=60)] = None,
    hsChapter: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    enterprise: Annotated[str | None, Query(max_length=18)] = None,
    olderThanMinutes: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    """Declarations waiting for an officer (manual review, inspection, detention), highest
    risk first; filter by route, reason code, HS chapter, enterprise code, minimum age."""
    if not scope.everything:
        raise OfficersOnly("the review queue is for customs officers")
    chosen = QueueFilter(route, reason, hsChapter, enterprise, olderThanMinutes)
    found = await run_in_threadpool(
        partial(dashboard.review_queue, request.app.state.customs, chosen)
    )
    return {"declarations": found}


@router.get("/statistics")
async def statistics(
    request: Request, scope: CallerScope, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> dict[str, Any]:
    """Clearance statistics over the last `days` days (officers)."""
    if not scope.everything:
        raise OfficersOnly("statistics are for customs officers")
    return await run_in_threadpool(dashboard.statistics, request.app.state.customs, days)


@router.get("/declarations/{declaration_id}/buyer-history")
async def buyer_history(
    declaration_id: str, request: Request, scope: CallerScope
) -> dict[str, Any]:
    """The buyer's other declarations and annual quota used (no identity), for officers."""
    if not scope.everything:
        raise OfficersOnly("a buyer's history is for customs officers")
    return await run_in_threadpool(
        dashboard.buyer_history, request.app.state.customs, declaration_id
    )
