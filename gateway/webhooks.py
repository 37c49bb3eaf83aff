"""Webhooks: tenants' subscriptions, the fan-out of customs events, delivery with retries.

The gateway worker consumes customs' events; for each, it records one delivery per matching
subscription of every tenant the event concerns (in the same transaction as its inbox row, so an
event fans out once). A delivery loop posts due deliveries, signed with the subscription's secret,
and reschedules failures (see gateway.domain.webhooks for the schedule).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from sqlalchemy import CursorResult, Engine, event, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import as_utc
from gateway.box import SecretBox
from gateway.db import TenantCode, WebhookDelivery, WebhookSubscription
from gateway.domain import webhooks as rules
from gateway.domain.access import Principal
from gateway.domain.signing import sign_webhook
from gateway.tenancy import Invalid, NotFound, audit
from messaging.consumer import HandlerContext
from schemas.envelope import utc_now
from schemas.events import ClearancesChangedV1, DocumentsAcceptedV1

log = logging.getLogger(__name__)
LEASE_S = 60
SIGNATURE_HEADER = "X-Clearway-Signature"


def _subscription_json(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "eventTypes": sub.event_types.split(),
        "active": sub.active,
        "createdAt": sub.created_at.isoformat(),
    }


def subscribe(
    engine: Engine, box: SecretBox | None, actor: Principal, *, url: str, event_types: list[str]
) -> dict[str, Any]:
    """A new subscription of the caller's enterprise; its signing secret is shown once."""
    if box is None:
        raise Invalid("url", "configured", "webhooks need GATEWAY_DATA_KEY to keep their secrets")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url", "http-url", "the endpoint must be an http:// or https:// URL")
    for index, event_type in enumerate(event_types):
        if event_type not in rules.SUBSCRIBABLE:
            raise Invalid(
                f"eventTypes/{index}",
                "event-type",
                f"{event_type!r} is not one of: " + ", ".join(rules.SUBSCRIBABLE),
            )
    secret = "whsec_" + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        id=str(uuid.uuid4()),
        tenant_id=actor.tenant_id or "",
        url=url,
        event_types=" ".join(dict.fromkeys(event_types)),
        secret=box.seal(secret),
        active=True,
        created_at=utc_now(),
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(sub)
        session.flush()
        audit(session, actor, "webhook.subscribe", sub.id, {"url": url, "types": event_types})
    return {**_subscription_json(sub), "secret": secret}


def _own(session: Session, actor: Principal, subscription_id: str) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.tenant_id != actor.tenant_id:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return sub


def subscriptions(engine: Engine, actor: Principal) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(
            select(WebhookSubscription)
            .where(col(WebhookSubscription.tenant_id) == actor.tenant_id)
            .order_by(col(WebhookSubscription.created_at))
        ).scalars()
        return [_subscription_json(s) for s in rows]


def unsubscribe(engine: Engine, actor: Principal, subscription_id: str) -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        sub = _own(session, actor, subscription_id)
        sub.active = False
        audit(session, actor, "webhook.unsubscribe", sub.id)
        return _subscription_json(sub)


def _delivery_json(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscriptionId": d.subscription_id,
        "eventId": d.event_id,
        "eventType": d.event_type,
        "state": d.state,
        "attempts": d.attempts,
        "nextAttemptAt": d.next_attempt_at.isoformat() if d.state == "pending" else None,
        "lastStatus": d.last_status,
        "lastError": d.last_error,
        "createdAt": d.created_at.isoformat(),
        "deliveredAt": d.delivered_at.isoformat() if d.delivered_at else None,
    }


def deliveries(
    engine: Engine, actor: Principal, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The delivery log of the caller's subscriptions, newest first."""
    with Session(engine) as session:
        query = (
            select(WebhookDelivery)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(col(WebhookSubscription.tenant_id) == actor.tenant_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(col(WebhookDelivery.state) == state)
        return [_delivery_json(d) for d in session.execute(query).scalars()]


def replay(engine: Engine, actor: Principal, delivery_id: int) -> dict[str, Any]:
    """Send a delivery again now (a failed one too), keeping its log."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        found = session.get(WebhookDelivery, delivery_id)
        if found is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        _own(session, actor, found.subscription_id)
        found.state = "pending"
        found.next_attempt_at = utc_now()
        audit(session, actor, "webhook.replay", str(delivery_id))
        return _delivery_json(found)


# -- the worker side ----------------------------------------------------------------------------


def fan_out(ctx: HandlerContext, event: BaseModel) -> None:
    """One delivery per matching active subscription of every tenant the event concerns."""
    fan_out_batch([(ctx, event)])


def fan_out_batch(
    run: Sequence[tuple[HandlerContext, BaseModel]],
    *,
    on_commit: Callable[[], None] | None = None,
) -> None:
    """`fan_out` for a run of consecutive events (the consumer's `Batched`), in one read of the
    active subscriptions and one insert of the run's deliveries; nothing more when no tenant
    has an active subscription. `on_commit` is called once deliveries made are committed."""
    if not run:
        return
    session = run[0][0].session
    routes = _routes(session)
    if not routes:
        return
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for ctx, event_id, customs_event in _receipts(run):
        event_type = str(getattr(customs_event, "type", ""))
        targets = routes.subscribers(event_type, getattr(customs_event, "parties", None) or {})
        if not targets:
            continue
        data = customs_event.model_dump(mode="json")
        body = rules.payload(event_id, event_type, ctx.envelope.occurred_at.isoformat(), data)
        rows.extend(
            {
                "subscription_id": subscription_id,
                "event_id": event_id,
                "event_type": event_type,
                "payload": body,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription_id in targets
        )
    if rows:
        session.execute(insert(WebhookDelivery), rows)
        if on_commit is not None:
            event.listen(session, "after_commit", lambda _session: on_commit(), once=True)


def _receipts(
    run: Sequence[tuple[HandlerContext, BaseModel]],
) -> Iterator[tuple[HandlerContext, str, BaseModel]]:
    """Each event of the run as tenants receive it, with its id: customs announces a request's
    accepted documents together (DocumentsAcceptedV1), and the receipts of a run of risk's
    routes (ClearancesChangedV1); a tenant gets one `customs.document_accepted.v1` per document
    and one `customs.clearance_changed.v1` per receipt, its id derived from the announcement's
    and the document's, or the receipt's place in it (the same again if the announcement is
    read again)."""
    for ctx, customs_event in run:
        if isinstance(customs_event, DocumentsAcceptedV1):
            for document in customs_event.documents:
                receipt_id = uuid.uuid5(ctx.envelope.event_id, str(document.document_id))
                yield ctx, str(receipt_id), document
        elif isinstance(customs_event, ClearancesChangedV1):
            for place, change in enumerate(customs_event.changes):
                yield ctx, str(uuid.uuid5(ctx.envelope.event_id, f"change-{place}")), change
        else:
            yield ctx, str(ctx.envelope.event_id), customs_event


# built once: the worker reads it for every batch of customs' events
_ACTIVE_SUBSCRIPTIONS = (
    select(
        col(TenantCode.code),
        col(WebhookSubscription.id),
        col(WebhookSubscription.tenant_id),
        col(WebhookSubscription.event_types),
    )
    .join(TenantCode, col(TenantCode.tenant_id) == col(WebhookSubscription.tenant_id))
    .where(col(WebhookSubscription.active).is_(True))
    .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
)


def _routes(session: Session) -> rules.Routes:
    """The active subscriptions by their tenants' codes (one query)."""
    found = session.execute(_ACTIVE_SUBSCRIPTIONS).all()
    return rules.Routes(
        (code, rules.Subscriber(sub_id, tenant_id, frozenset(types.split())))
        for code, sub_id, tenant_id, types in found
    )


class Deliverer:
    """Posts due deliveries; each is leased before it is sent, so workers never send twice
    at once, and a worker that dies mid-send leaves it to be tried again after the lease."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        *,
        timeout_s: float = 10.0,
        first_retry_s: int = rules.FIRST_RETRY_S,
    ) -> None:
        self.engine = engine
        self.box = box
        self.first_retry_s = first_retry_s
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self.delivered = 0
        self.failed_attempts = 0
        self._wake = threading.Event()

    def wake(self) -> None:
        """New deliveries were just committed in this process: look now."""
        self._wake.set()

    def run(self, stop: threading.Event, interval_s: float = 0.25, max_idle_s: float = 2.0) -> None:
        """Deliver until `stop` is set. While nothing is due the poll interval doubles from
        `interval_s` up to `max_idle_s` (retries are 30 s apart at least, and a replay from the
        API waits at most that long); the fan-out in this process wakes it at once."""
        idle = interval_s
        while not stop.is_set():
            try:
                sent = self.deliver_due()
            except Exception:  # a database hiccup must not end the loop
                log.exception("webhook delivery round failed")
                sent = 0
            if not sent:
                self._wake.wait(idle)
                idle = interval_s if self._wake.is_set() else min(2 * idle, max_idle_s)
                self._wake.clear()
            else:
                idle = interval_s
        self.client.close()

    def _lease(self, limit: int) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
        now = utc_now()
        taken = []
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            due = session.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(
                    WebhookSubscription,
                    col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                )
                .where(
                    col(WebhookDelivery.state) == "pending",
                    col(WebhookDelivery.next_attempt_at) <= now,
                )
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(limit)
            ).all()
            for delivery, sub in due:
                leased = cast(
                    "CursorResult[Any]",
                    session.execute(
                        update(WebhookDelivery)
                        .where(
                            col(WebhookDelivery.id) == delivery.id,
                            col(WebhookDelivery.next_attempt_at) == delivery.next_attempt_at,
                        )
                        .values(next_attempt_at=now + timedelta(seconds=LEASE_S))
                    ),
                ).rowcount
                if leased == 1:
                    taken.append((delivery, sub))
        return taken

    def deliver_due(self, limit: int = 50) -> int:
        """Send what is due now; answers how many were attempted."""
        leased = self._lease(limit)
        for delivery, sub in leased:
            self._attempt(delivery, sub)
        return len(leased)

    def _attempt(self, delivery: WebhookDelivery, sub: WebhookSubscription) -> None:
        body = delivery.payload.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(
                self.box.open(sub.secret), timestamp=timestamp, body=body
            ),
            "X-Clearway-Event-Id": delivery.event_id,
            "X-Clearway-Event-Type": delivery.event_type,
            "X-Clearway-Delivery": str(delivery.id),
        }
        status: int | None = None
        error: str | None = None
        try:
            answer = self.client.post(sub.url, content=body, headers=headers)
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            row = session.get(WebhookDelivery, delivery.id)
            if row is None:
                return
            row.attempts += 1
            row.last_status = status
            row.last_error = error
            if error is None:
                row.state = "delivered"
                row.delivered_at = now
                self.delivered += 1
                return
            self.failed_attempts += 1
            created = as_utc(row.created_at)
            retry_at = rules.next_attempt(created, now, row.attempts, self.first_retry_s)
            if retry_at is None:
                row.state = "failed"
            else:
                row.next_attempt_at = retry_at
