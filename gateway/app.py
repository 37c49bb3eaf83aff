"""The gateway application: API routes for platforms and the web pages, at one URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from clearway import http
from clearway.database import make_engine
from clearway.idempotency import Keeper
from gateway import db, tenancy, uploads, upstream
from gateway.api import PROBLEMS, router
from gateway.box import SecretBox
from gateway.context import Gateway
from gateway.identity import Identities
from gateway.settings import GatewaySettings
from gateway.web import install_pages

_DESCRIPTION = """
Single-window clearance for a cross-border e-commerce pilot zone.

**Authentication.** Send `Authorization: Bearer <API key>` (or an OAuth2 access token from
`POST /oauth/token`, client credentials grant). Keys are issued by an administrator or, for your
own enterprise, at `POST /api/v1/api-keys`; they are shown once.

**Request signing (optional, or required per client).** Add `X-Clearway-Timestamp` (Unix s),
`X-Clearway-Nonce` (8-64 characters, never reused) and `X-Clearway-Signature: v1=<hex>` with the
HMAC-SHA256, keyed by your signing secret, of
`<timestamp>.<nonce>.<METHOD>.<path?query>.<hex SHA-256 of the body>`; 300 s window.

**Idempotency.** Every POST takes an `Idempotency-Key` header: a replay answers the first answer
unchanged (with `Idempotent-Replayed: true`); the same key with another body gets 422; while the
first request runs, a duplicate gets 409.

**Errors** are RFC 9457 `application/problem+json` with `errors` naming the field and the rule.
**Rate limits** answer 429 with `Retry-After`. Every answer carries `X-Correlation-ID`.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway; upstream clients are opened with the app, not at import."""
    settings = settings or GatewaySettings()
    engine = make_engine(settings.database_url)
    box = SecretBox(settings.data_key) if settings.data_key else None
    if settings.admin_api_key:
        tenancy.ensure_admin_client(engine, settings.admin_api_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout_s = settings.upstream_timeout_s
        app.state.gateway = Gateway(
            settings=settings,
            engine=engine,
            box=box,
            identities=Identities(engine, box, cache_s=settings.auth_cache_s),
            idempotency=Keeper(engine, db.idempotency),
            customs=upstream.Upstream("customs", settings.customs_url, timeout_s=timeout_s),
            risk=upstream.Upstream("risk", settings.risk_url, timeout_s=timeout_s),
        )
        uploads.resume(app.state.gateway)  # bulk uploads a previous run left unfinished
        yield
        gateway: Gateway = app.state.gateway
        await uploads.wait_all()
        for client in (gateway.customs, gateway.risk):
            await client.close()
        engine.dispose()

    app = FastAPI(title="Clearway", version="1", description=_DESCRIPTION, lifespan=lifespan)
    http.install(app, PROBLEMS)
    app.include_router(router)

    async def upstream_health() -> dict[str, str]:
        gateway: Gateway = app.state.gateway
        services = (gateway.customs, gateway.risk)
        return dict(await asyncio.gather(*(upstream.probe(s, timeout_s=2.0) for s in services)))

    app.state.upstream_health = upstream_health

    @app.get("/health", tags=["operations"])
    async def health() -> Response:
        """The gateway and the services behind it."""
        services = await upstream_health()
        healthy = all(v == "ok" for v in services.values())
        body: dict[str, Any] = {
            "status": "ok" if healthy else "degraded",
            "service": "gateway",
            "upstreams": services,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    install_pages(app)
    return app
