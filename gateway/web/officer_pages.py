"""The officers' pages: the review queue, a declaration with its actions, the statistics."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.context import gateway_of
from gateway.domain.access import Kind
from gateway.upstream import Answer, call
from gateway.web.charts import bar_chart
from gateway.web.documents import side_by_side
from gateway.web.session import PageUser, check_form_csrf, redirect, render, signed_in

router = APIRouter(prefix="/officer", include_in_schema=False)

_FILTERS = ("route", "reason", "hsChapter", "enterprise", "olderThanMinutes")
DETENTION_CODES = (501, 502, 503, 599)
ACTIONS = ("release", "inspect", "detain", "return_abroad", "reject", "close")


@router.get("")
async def queue(request: Request) -> Response:
    user = await signed_in(request, Kind.OFFICER)
    chosen = {k: request.query_params.get(k, "") for k in _FILTERS}
    answer = await call(
        gateway_of(request).customs,
        "GET",
        "/v1/review-queue",
        user.principal,
        params=chosen,
    )
    problem = None if answer.status_code == 200 else answer.json()
    rows = answer.json()["declarations"] if answer.status_code == 200 else []
    return render(
        request,
        "officer_queue.html",
        {"rows": rows, "chosen": chosen, "problem": problem},
        user=user,
    )


@router.get("/declarations/{declaration_id}")
async def declaration(declaration_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.OFFICER)
    return await _declaration_page(request, user, declaration_id)


async def _declaration_page(
    request: Request, user: PageUser, declaration_id: str, revealed: Any = None
) -> Response:
    customs = gateway_of(request).customs
    answer = await call(customs, "GET", f"/v1/declarations/{declaration_id}", user.principal)
    if answer.status_code != 200:
        return render(
            request,
            "not_found.html",
            {"what": declaration_id},
            user=user,
            status_code=answer.status_code,
        )
    history = await call(
        customs,
        "GET",
        f"/v1/declarations/{declaration_id}/buyer-history",
        user.principal,
    )
    view = answer.json()
    return render(
        request,
        "officer_declaration.html",
        {
            "d": view,
            "history": history.json() if history.status_code == 200 else None,
            "fields": side_by_side(view),
            "actions": ACTIONS,
            "detention_codes": DETENTION_CODES,
            "notice": request.query_params.get("notice"),
            "error": request.query_params.get("error"),
            "revealed": revealed,
        },
        user=user,
    )


@router.post("/declarations/{declaration_id}/decide")
async def decide(declaration_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.OFFICER)
    form = await check_form_csrf(request, user)
    body: dict[str, Any] = {
        "action": form.get("action", ""),
        "officer": user.principal.name,
        "reason": (form.get("reason") or "").strip(),
    }
    if str(form.get("detentionCode", "")).isdigit():
        body["detentionCode"] = int(form["detentionCode"])
    if form.get("findings"):
        body["findings"] = form["findings"]
    answer = await call(
        gateway_of(request).customs,
        "POST",
        f"/v1/declarations/{declaration_id}/decisions",
        user.principal,
        json=body,
    )
    base = f"/officer/declarations/{declaration_id}"
    if answer.status_code == 200:
        return redirect(f"{base}?notice=decided")
    return redirect(f"{base}?error={quote(_problem_text(answer))}")


@router.post("/declarations/{declaration_id}/reveal")
async def reveal(declaration_id: str, request: Request) -> Response:
    user = await signed_in(request, Kind.OFFICER)
    form = await check_form_csrf(request, user)
    answer = await call(
        gateway_of(request).customs,
        "POST",
        f"/v1/declarations/{declaration_id}/reveal",
        user.principal,
        json={"officer": user.principal.name, "reason": (form.get("reason") or "").strip()},
    )
    if answer.status_code != 200:
        return redirect(
            f"/officer/declarations/{declaration_id}?error={quote(_problem_text(answer))}"
        )
    return await _declaration_page(
        request, user, declaration_id, revealed=answer.json()["personalData"]
    )


def _problem_text(answer: Answer) -> str:
    problem = answer.json()
    errors = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in problem.get("errors", []))
    return str(problem.get("detail") or errors or problem.get("title") or "refused")


@router.get("/stats")
async def stats(request: Request) -> Response:
    user = await signed_in(request, Kind.OFFICER)
    days = request.query_params.get("days", "30")
    answer = await call(
        gateway_of(request).customs,
        "GET",
        "/v1/statistics",
        user.principal,
        params={"days": days},
    )
    figures = answer.json()
    per_day = await run_in_threadpool(
        bar_chart, [(d["day"][5:], d["count"]) for d in figures.get("perDay", [])]
    )
    return render(
        request, "officer_stats.html", {"s": figures, "per_day_chart": per_day}, user=user
    )
