"""Routes for import declarations: the review queue, a declaration, officer decisions."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearway.http import current_correlation_id
from clearway.idempotency import Keeper
from customs import clearance_service, visibility
from customs.api.problems import InvalidDecision, OfficersOnly
from customs.api.scope import CallerActor, CallerOwner, CallerScope
from customs.clearance_service import DeclarationNotFound, OfficerDecision
from customs.domain.access import Scope
from customs.domain.clearance import Action

router = APIRouter()


class DecisionIn(BaseModel):
    """An officer's decision on a declaration; every decision is audited with its reason."""

    action: Action = Field(
        description="release, inspect, detain, return_abroad, reject or close; on an export "
        "inventory: review (120 to 300), release (300 to 399; released on arrival) or reject"
    )
    officer: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Who decides (audited); the gateway's signed-in officer takes precedence",
    )
    reason: str = Field(min_length=1, max_length=1000, description="Why (audited)")
    detentionCode: int | None = Field(default=None, description="501, 502, 503 or 599")
    findings: str | None = Field(default=None, max_length=4000, description="Inspection findings")
    findingCodes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]] = Field(
        default_factory=list, max_length=20, description="Inspection finding codes"
    )

    def route_only(self) -> bool:
        return self.action.value.startswith("route_")


@router.get("/declarations")
async def list_declarations(
    request: Request,
    scope: CallerScope,
    status: int | None = None,
    orderNo: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Import declarations by clearance status (300 = the review queue) or order number."""
    found = await run_in_threadpool(
        partial(
            clearance_service.find_declarations,
            request.app.state.customs,
            status=status,
            order_no=orderNo,
            scope=scope,
            limit=limit,
        )
    )
    return {"declarations": found}


async def _visible(request: Request, scope: Scope, declaration_id: str) -> None:
    customs = request.app.state.customs
    if not await run_in_threadpool(visibility.declaration_visible, customs, scope, declaration_id):
        raise DeclarationNotFound(f"no declaration {declaration_id}")


def _officers_only(scope: Scope) -> None:
    if not scope.everything:
        raise OfficersOnly("officer decisions and reveals are for customs officers")


def _officer(actor: str | None, named: str | None) -> str:
    """Who acts: the officer the gateway signed in, else the one the (internal) caller names."""
    if actor or named:
        return str(actor or named)
    raise InvalidDecision("officer", "required", "name the officer who acts")


@router.get("/declarations/{declaration_id}")
async def get_declaration(
    declaration_id: str, request: Request, scope: CallerScope
) -> dict[str, Any]:
    """A declaration: its four documents, match differences, tax, risk reasons and timeline."""
    await _visible(request, scope, declaration_id)
    return await run_in_threadpool(
        clearance_service.declaration_view, request.app.state.customs, declaration_id
    )


@router.post("/declarations/{declaration_id}/decisions")
async def decide(
    declaration_id: str,
    body: DecisionIn,
    request: Request,
    scope: CallerScope,
    *,
    actor: CallerActor,
    owner: CallerOwner,
) -> Response:
    """Record an officer's decision; answers with the receipts it issued."""
    _officers_only(scope)
    officer = _officer(actor, body.officer)
    if body.route_only():
        raise InvalidDecision(
            "action", "officer-action", f"{body.action.value} is chosen by risk, not by an officer"
        )

    def run() -> tuple[int, ...]:
        try:
            return clearance_service.decide(
                request.app.state.customs,
                declaration_id,
                OfficerDecision(
                    action=body.action,
                    officer=officer,
                    reason=body.reason,
                    detention_code=body.detentionCode,
                    findings=body.findings,
                    finding_codes=tuple(body.findingCodes),
                ),
                correlation_id=current_correlation_id(),
            )
        except ValueError as exc:  # e.g. a detention without an official code
            raise InvalidDecision("detentionCode", "detention-code", str(exc)) from None

    async def produce() -> dict[str, Any]:
        codes = await run_in_threadpool(run)
        return {"declarationId": declaration_id, "returnStatuses": list(codes)}

    keeper: Keeper = request.app.state.idempotency
    return await keeper.json(request, owner=owner, status_code=200, produce=produce)


class RevealIn(BaseModel):
    """An officer asking to see a declaration's personal data unmasked (audited)."""

    officer: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=1000, description="Why (audited)")


@router.post("/declarations/{declaration_id}/reveal")
async def reveal(
    declaration_id: str,
    body: RevealIn,
    request: Request,
    scope: CallerScope,
    *,
    actor: CallerActor,
    owner: CallerOwner,
) -> Response:
    """The buyer's personal data unmasked, for an officer who gives a reason; audited."""
    _officers_only(scope)
    officer = _officer(actor, body.officer)

    async def produce() -> dict[str, Any]:
        revealed = await run_in_threadpool(
            partial(
                clearance_service.reveal,
                request.app.state.customs,
                declaration_id,
                officer=officer,
                reason=body.reason,
            )
        )
        return {"declarationId": declaration_id, "personalData": revealed}

    keeper: Keeper = request.app.state.idempotency
    return await keeper.json(request, owner=owner, status_code=200, produce=produce)
