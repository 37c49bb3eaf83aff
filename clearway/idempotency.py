"""Idempotency keys for POST requests, kept by the service that performs the effect.

The first request with a key claims it (a short committed row, so a concurrent duplicate sees it
and gets 409). The service then stores the response in the same transaction as its effect
(`complete`), so a stored key always means a committed effect and vice versa. A replay with the
same request returns the stored response unchanged; the same key with a different request gets
422. A request that fails before its effect commits releases the key, so it can be retried. A
claim left behind by a crashed process is taken over after `stale_after_s`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from clearway import jsontext
from clearway.database import as_utc
from schemas.envelope import utc_now

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
STALE_AFTER_S = 60.0


def add_idempotency_table(metadata: MetaData) -> Table:
    """Define the idempotency_key table on a service's own metadata."""
    return Table(
        "idempotency_key",
        metadata,
        Column("owner", String(120), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("state", String(10), nullable=False),  # pending | done
        Column("status_code", Integer, nullable=True),
        Column("headers", Text, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def request_hash(method: str, path: str, body: bytes) -> str:
    """What identifies "the same request" for a key: method, path and body."""
    hasher = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class Claim:
    """A key this request now holds; pass it to `complete` inside the effect's transaction."""

    owner: str
    key: str
    completed: bool = False


class KeyInUse(Exception):
    """The same key is being processed by a concurrent request (409)."""


class KeyReused(Exception):
    """The key was used before with a different request (422)."""


def claim(
    engine: Engine,
    table: Table,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    now: datetime | None = None,
    stale_after_s: float = STALE_AFTER_S,
) -> Claim | StoredResponse:
    """Claim a key for this request, or the response stored for an earlier identical one."""
    now = now or utc_now()
    for _ in range(3):
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(table).values(
                        owner=owner,
                        key=key,
                        request_hash=fingerprint,
                        state="pending",
                        created_at=now,
                    )
                )
            return Claim(owner, key)
        except IntegrityError:
            pass
        with engine.begin() as conn:
            row = conn.execute(
                select(table).where(and_(table.c.owner == owner, table.c.key == key))
            ).first()
            if row is None:  # released meanwhile: try to claim again
                continue
            if row.request_hash != fingerprint:
                raise KeyReused(
                    f"the {HEADER} {key!r} was used before with a different request"
                ) from None
            if row.state == "done":
                return StoredResponse(row.status_code, json.loads(row.headers or "{}"), row.body)
            created = as_utc(row.created_at)
            if now - created < timedelta(seconds=stale_after_s):
                raise KeyInUse(f"a request with the {HEADER} {key!r} is still being processed")
            taken = conn.execute(  # a crashed holder's claim: take it over, once
                update(table)
                .where(
                    and_(
                        table.c.owner == owner,
                        table.c.key == key,
                        table.c.state == "pending",
                        table.c.created_at == row.created_at,
                    )
                )
                .values(created_at=now)
            ).rowcount
            if taken == 1:
                return Claim(owner, key)
    raise KeyInUse(f"a request with the {HEADER} {key!r} is still being processed")


def complete(conn: Connection, table: Table, held: Claim, response: StoredResponse) -> None:
    """Store the response with the effect (call inside the effect's transaction)."""
    conn.execute(
        update(table)
        .where(and_(table.c.owner == held.owner, table.c.key == held.key))
        .values(
            state="done",
            status_code=response.status_code,
            headers=json.dumps(response.headers),
            body=response.body,
        )
    )
    held.completed = True


def release(engine: Engine, table: Table, held: Claim) -> None:
    """Give a key back when the request failed before its effect (it may be retried)."""
    with engine.begin() as conn:
        conn.execute(
            delete(table).where(
                and_(
                    table.c.owner == held.owner,
                    table.c.key == held.key,
                    table.c.state == "pending",
                )
            )
        )


def json_body(content: Any) -> bytes:
    """The bytes a JSON response is stored (and replayed) as."""
    return jsontext.encode(content)


class KeyInvalid(Exception):
    """The key itself is unusable (empty, too long, not printable ASCII)."""


def valid_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise KeyInvalid(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


Handler = Callable[[Claim | None], Awaitable[Response]]


class Keeper:
    """Idempotency for the POST routes of one service (its engine and its table)."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self.engine = engine
        self.table = table

    async def run(self, request: Request, *, owner: str, body: bytes, handler: Handler) -> Response:
        """Answer a POST once per key: run `handler` the first time, replay its answer after.

        Only successful answers are kept; a failed request releases its key for a retry.
        A handler that writes its effect in one transaction calls `complete` in it; otherwise
        its answer is stored right after it returns.
        """
        raw = request.headers.get(HEADER)
        if raw is None:
            return await handler(None)
        key = valid_key(raw)
        fingerprint = request_hash(request.method, request.url.path, body)
        found = await run_in_threadpool(
            partial(claim, self.engine, self.table, owner=owner, key=key, fingerprint=fingerprint)
        )
        if isinstance(found, StoredResponse):
            headers = {**found.headers, "Idempotent-Replayed": "true"}
            return Response(found.body, status_code=found.status_code, headers=headers)
        try:
            response = await handler(found)
        except BaseException:
            await run_in_threadpool(release, self.engine, self.table, found)
            raise
        if not 200 <= response.status_code < 300:
            await run_in_threadpool(release, self.engine, self.table, found)
            return response
        if not found.completed:
            stored = stored_response(response)

            def store() -> None:
                with self.engine.begin() as conn:
                    complete(conn, self.table, found, stored)

            await run_in_threadpool(store)
        return response

    async def json(
        self,
        request: Request,
        *,
        owner: str,
        status_code: int,
        produce: Callable[[], Awaitable[Any]],
    ) -> Response:
        """`run` for a route whose answer is JSON content: its answer is stored right after the
        effect commits (a route that can, stores it inside the effect's transaction instead)."""

        async def handle(_held: Claim | None) -> Response:
            content = await produce()
            return Response(
                json_body(content), status_code=status_code, media_type="application/json"
            )

        return await self.run(request, owner=owner, body=await request.body(), handler=handle)


_KEPT_HEADERS = ("content-type", "location")


def stored_response(response: Response) -> StoredResponse:
    """What is kept of a response: its status, body and the headers that describe it."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    return StoredResponse(response.status_code, headers, bytes(response.body))
