"""Webhook subscriptions of an enterprise, their delivery log and manual replays."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearway.idempotency import Claim, json_body
from gateway import webhooks
from gateway.auth import TenantMember
from gateway.context import gateway_of
from gateway.domain.webhooks import SUBSCRIBABLE

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class SubscriptionIn(BaseModel):
    """Where to send which events. Each delivery is a POST of
    `{"id", "type", "occurredAt", "data"}` with `X-Clearway-Signature: t=<unix s>,v1=<hex>`,
    the HMAC-SHA256 of `"<t>.<body>"` keyed by the subscription's secret."""

    url: str = Field(max_length=2000, examples=["https://platform.example/clearway/hooks"])
    eventTypes: list[str] = Field(min_length=1, examples=[list(SUBSCRIBABLE)])


@router.post("", status_code=201)
async def subscribe(body: SubscriptionIn, request: Request, caller: TenantMember) -> Response:
    """Subscribe an endpoint; the answer carries its signing secret, shown once."""
    gateway = gateway_of(request)

    async def handle(_held: Claim | None) -> Response:
        made = await run_in_threadpool(
            partial(
                webhooks.subscribe,
                gateway.engine,
                gateway.box,
                caller,
                url=body.url,
                event_types=body.eventTypes,
            )
        )
        return Response(json_body(made), status_code=201, media_type="application/json")

    raw = await request.body()
    return await gateway.idempotency.run(request, owner=caller.owner, body=raw, handler=handle)


@router.get("")
async def list_subscriptions(request: Request, caller: TenantMember) -> dict[str, Any]:
    """Your subscriptions."""
    found = await run_in_threadpool(webhooks.subscriptions, gateway_of(request).engine, caller)
    return {"subscriptions": found}


@router.delete("/{subscription_id}")
async def unsubscribe(
    subscription_id: str, request: Request, caller: TenantMember
) -> dict[str, Any]:
    """Stop a subscription (its delivery log stays)."""
    return await run_in_threadpool(
        webhooks.unsubscribe, gateway_of(request).engine, caller, subscription_id
    )


@router.get("/deliveries")
async def delivery_log(
    request: Request,
    caller: TenantMember,
    state: Annotated[str | None, Query(pattern=r"^(pending|delivered|failed)$")] = None,
) -> dict[str, Any]:
    """The delivery log, newest first: attempts, last HTTP status or error, next attempt."""
    found = await run_in_threadpool(
        partial(webhooks.deliveries, gateway_of(request).engine, caller, state=state)
    )
    return {"deliveries": found}


@router.post("/deliveries/{delivery_id}/replay")
async def replay(delivery_id: int, request: Request, caller: TenantMember) -> dict[str, Any]:
    """Send a delivery again now, whatever its state."""
    return await run_in_threadpool(webhooks.replay, gateway_of(request).engine, caller, delivery_id)
