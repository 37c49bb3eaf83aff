"""Risk JSON routes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from clearway.http import Problem
from risk import service
from risk.ruleset_file import RuleSetInvalid
from risk.ruleset_store import VersionConflict, VersionNotFound
from risk.service import NotFound

router = APIRouter(prefix="/v1")


def _not_found(exc: NotFound | VersionNotFound) -> Problem:
    return Problem(404, "Not found", type="/problems/not-found", detail=str(exc))


def _ruleset_invalid(exc: RuleSetInvalid) -> Problem:
    return Problem(
        422,
        "Rule set is invalid",
        type="/problems/ruleset-invalid",
        errors=[
            {"path": "/".join(("body", "ruleset", *loc)), "rule": rule, "message": message}
            for loc, rule, message in exc.errors
        ],
    )


def _version_conflict(exc: VersionConflict) -> Problem:
    return Problem(
        409, "Rule set version conflict", type="/problems/ruleset-conflict", detail=str(exc)
    )


PROBLEMS: dict[type[Exception], Any] = {
    NotFound: _not_found,
    VersionNotFound: _not_found,
    RuleSetInvalid: _ruleset_invalid,
    VersionConflict: _version_conflict,
}


@router.get("/observations/{document_id}")
async def get_observation(document_id: str, request: Request) -> dict[str, Any]:
    """What risk recorded about a customs document."""
    found = await run_in_threadpool(service.observation, request.app.state.engine, document_id)
    return {
        "documentId": found.document_id,
        "messageType": found.message_type,
        "businessKey": found.business_key,
        "ebpCode": found.ebp_code,
        "goodsValue": None if found.goods_value is None else str(found.goods_value),
        "currency": found.currency,
        "lineCount": found.line_count,
        "observedAt": found.observed_at.isoformat(),
    }


@router.get("/assessments/{declaration_id}")
async def get_assessment(declaration_id: str, request: Request) -> dict[str, Any]:
    """A declaration's risk score, route and reasons."""
    found = await run_in_threadpool(service.assessment, request.app.state.engine, declaration_id)
    return {
        "declarationId": found.declaration_id,
        "orderNo": found.order_no,
        "buyerKey": found.buyer_key,  # the pseudonym a rule set watchlist names a buyer by
        "score": found.score,
        "route": found.route,
        "reasons": json.loads(found.reasons),
        "rulesetVersion": found.ruleset_version,
        "assessedAt": found.assessed_at.isoformat(),
    }
