"""Risk rule set routes: the version in force, new versions (validated like the file), and the
audited history of changes. The gateway sets X-Clearway-Actor to the signed-in officer."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from clearway.database import as_utc
from risk import ruleset_store
from risk.db import RuleSetChange

router = APIRouter(prefix="/v1/ruleset")

Actor = Annotated[
    str,
    Header(
        alias="X-Clearway-Actor",
        min_length=1,
        max_length=128,
        pattern=r"\S",
        description="Who makes the change (set by the gateway from the signed-in officer)",
    ),
]


class RuleSetChangeRequest(BaseModel):
    """A new rule set version and why it is made."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    ruleset: dict[str, Any] = Field(description="The whole rule set, as in the rule set file")
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")
    based_on: str | None = Field(
        default=None,
        alias="basedOn",
        max_length=40,
        description="The version the change was made from; refused (409) if another is in force",
    )


@router.get("")
async def get_ruleset(request: Request) -> dict[str, Any]:
    """The rule set in force, its version, and the change that put it in force."""
    found = await run_in_threadpool(
        ruleset_store.current, request.app.state.engine, request.app.state.seed_rules
    )
    return _in_force_view(found)


@router.post("/versions", status_code=201)
async def post_version(
    body: RuleSetChangeRequest, request: Request, actor: Actor
) -> dict[str, Any]:
    """Put a new rule set version in force (from the next declaration on), audited."""
    record = await run_in_threadpool(
        lambda: ruleset_store.change(
            request.app.state.engine,
            request.app.state.seed_rules,
            document=body.ruleset,
            actor=actor.strip(),
            reason=body.reason,
            based_on=body.based_on,
        )
    )
    return _change_view(record, documents=True)


@router.get("/versions")
async def list_versions(request: Request) -> dict[str, Any]:
    """Every change made through the API, newest first: who, when, why, what changed."""
    changes = await run_in_threadpool(ruleset_store.history, request.app.state.engine)
    seed = request.app.state.seed_rules
    return {
        "seedVersion": seed.version,
        "versions": [_change_view(change, documents=False) for change in changes],
    }


@router.get("/versions/{version}")
async def get_version(version: str, request: Request) -> dict[str, Any]:
    """One rule set version (posted, or the file's) with its whole document."""
    found = await run_in_threadpool(
        ruleset_store.version, request.app.state.engine, request.app.state.seed_rules, version
    )
    return _in_force_view(found)


def _in_force_view(found: ruleset_store.InForce) -> dict[str, Any]:
    if found.change is None:
        return {"version": found.rules.version, "source": "file", "ruleset": found.document}
    return {**_change_view(found.change, documents=True), "source": "api"}


def _change_view(change: RuleSetChange, *, documents: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "version": change.version,
        "seq": change.seq,
        "previousVersion": change.previous_version,
        "changedBy": change.actor,
        "changedAt": as_utc(change.changed_at).isoformat(),
        "reason": change.reason,
        "changes": json.loads(change.changes),
    }
    if documents:
        view["ruleset"] = json.loads(change.document)
        view["previousRuleset"] = json.loads(change.previous_document)
    return view
