"""Routes for import declarations: the review queue, a declaration, officer decisions."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearway.http import current_correlation_id
from customs import clearance_service
from customs.api.problems import InvalidDecision
from customs.clearance_service import OfficerDecision
from customs.domain.clearance import Action

router = APIRouter()


class DecisionIn(BaseModel):
    """An officer's decision on a declaration; every decision is audited with its reason."""

    action: Action = Field(description="release, inspect, detain, return_abroad, reject or close")
    officer: str = Field(min_length=1, max_length=100, description="Who decides (audited)")
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
    status: int | None = None,
    orderNo: str | None = None,
) -> dict[str, Any]:
    """Import declarations by clearance status (300 = the review queue) or order number."""
    found = await run_in_threadpool(
        partial(
            clearance_service.find_declarations,
            request.app.state.customs,
            status=status,
            order_no=orderNo,
        )
    )
    return {"declarations": found}


@router.get("/declarations/{declaration_id}")
async def get_declaration(declaration_id: str, request: Request) -> dict[str, Any]:
    """A declaration: its four documents, match differences, tax, risk reasons and timeline."""
    return await run_in_threadpool(
        clearance_service.declaration_view, request.app.state.customs, declaration_id
    )


@router.post("/declarations/{declaration_id}/decisions")
async def decide(declaration_id: str, body: DecisionIn, request: Request) -> dict[str, Any]:
    """Record an officer's decision; answers with the receipts it issued."""
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
                    officer=body.officer,
                    reason=body.reason,
                    detention_code=body.detentionCode,
                    findings=body.findings,
                    finding_codes=tuple(body.findingCodes),
                ),
                correlation_id=current_correlation_id(),
            )
        except ValueError as exc:  # e.g. a detention without an official code
            raise InvalidDecision("detentionCode", "detention-code", str(exc)) from None

    codes = await run_in_threadpool(run)
    return {"declarationId": declaration_id, "returnStatuses": list(codes)}


class RevealIn(BaseModel):
    """An officer asking to see a declaration's personal data unmasked (audited)."""

    officer: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=1000, description="Why (audited)")


@router.post("/declarations/{declaration_id}/reveal")
async def reveal(declaration_id: str, body: RevealIn, request: Request) -> dict[str, Any]:
    """The buyer's personal data unmasked, for an officer who gives a reason; audited."""
    revealed = await run_in_threadpool(
        partial(
            clearance_service.reveal,
            request.app.state.customs,
            declaration_id,
            officer=body.officer,
            reason=body.reason,
        )
    )
    return {"declarationId": declaration_id, "personalData": revealed}
