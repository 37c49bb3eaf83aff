"""Routes to risk for customs staff: assessments, the rule set in force and its changes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from gateway.auth import Officer, Supervisor
from gateway.context import gateway_of
from gateway.upstream import forward

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])

_CHANGE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "reason": "tighter review of high values during the 11.11 peak",
                    "basedOn": "rules-2026.11.1",
                    "ruleset": {"version": "rules-2026.11.2", "...": "the whole rule set"},
                },
            }
        },
    }
}


@router.get("/assessments/{declaration_id}")
async def assessment(declaration_id: str, request: Request, caller: Officer) -> Response:
    """Risk's assessment of a declaration: score, route, reasons, rule set and model."""
    path = f"/v1/assessments/{declaration_id}"
    return await forward(gateway_of(request).risk, request, path, caller)


@router.get("/ruleset")
async def ruleset(request: Request, caller: Officer) -> Response:
    """The rule set in force: thresholds, lists, watchlists, and its version."""
    return await forward(gateway_of(request).risk, request, "/v1/ruleset", caller)


@router.post("/ruleset/versions", status_code=201, openapi_extra=_CHANGE_DOC)
async def change_ruleset(request: Request, caller: Supervisor) -> Response:
    """Put a new rule set version in force (supervisors): validated like the file, 422 naming
    the field; audited with who, when, why and the fields changed."""
    path = "/v1/ruleset/versions"
    return await forward(gateway_of(request).risk, request, path, caller)


@router.get("/ruleset/versions")
async def ruleset_history(request: Request, caller: Officer) -> Response:
    """Every change of the rule set: who, when, why, what changed."""
    path = "/v1/ruleset/versions"
    return await forward(gateway_of(request).risk, request, path, caller)


@router.get("/ruleset/versions/{version}")
async def ruleset_version(version: str, request: Request, caller: Officer) -> Response:
    """One rule set version with its documents."""
    path = f"/v1/ruleset/versions/{version}"
    return await forward(gateway_of(request).risk, request, path, caller)


@router.get("/report")
async def report(request: Request, caller: Officer) -> Response:
    """Each rule's hit rate and precision against inspection findings, and the score drift."""
    return await forward(gateway_of(request).risk, request, "/v1/report", caller)
