"""The gateway application: API routes for platforms and the web pages, at one URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from clearway import http
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamUnavailable, forward, unavailable_problem

_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_XML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}

api = APIRouter(prefix="/api/v1", tags=["platforms"])


def _customs(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.customs
    return client


@api.post("/messages", status_code=202, openapi_extra=_XML_BODY)
async def submit_message(request: Request) -> Response:
    """Submit a CEB message (XML, up to 100 documents); 202 with one receipt reference each."""
    return await forward(_customs(request), "customs", request, "/v1/messages")


@api.get("/receipts/{reference}")
async def get_receipt(reference: str, request: Request) -> Response:
    """A document's latest receipt as JSON (with its history) or as CEB XML (`?format=xml`)."""
    return await forward(_customs(request), "customs", request, f"/v1/receipts/{reference}")


@api.get("/submissions/{submission_id}")
async def get_submission(submission_id: str, request: Request) -> Response:
    """The documents of a submission and their current return status."""
    return await forward(_customs(request), "customs", request, f"/v1/submissions/{submission_id}")


@api.post("/certificates", status_code=201)
async def register_certificate(request: Request) -> Response:
    """Register a signing certificate (PEM or base64 DER) to an enterprise code."""
    return await forward(_customs(request), "customs", request, "/v1/certificates")


@api.get("/certificates")
async def list_certificates(request: Request) -> Response:
    """The certificates registered to an enterprise (`?enterpriseCode=`)."""
    return await forward(_customs(request), "customs", request, "/v1/certificates")


@api.delete("/certificates/{certificate_id}")
async def revoke_certificate(certificate_id: int, request: Request) -> Response:
    """Revoke a certificate: messages signed with it are refused from then on."""
    return await forward(
        _customs(request), "customs", request, f"/v1/certificates/{certificate_id}"
    )


@api.get("/summaries/{reference}")
async def get_summary(reference: str, request: Request) -> Response:
    """An export summary application (CEB701) and the declaration number customs gave it."""
    return await forward(_customs(request), "customs", request, f"/v1/summaries/{reference}")


@api.get("/summaries/{reference}/result")
async def get_summary_result(reference: str, request: Request) -> Response:
    """The summary result: JSON, or the official CEB792 XML (`?format=xml`)."""
    path = f"/v1/summaries/{reference}/result"
    return await forward(_customs(request), "customs", request, path)


@api.get("/platform-certificate")
async def platform_certificate(request: Request) -> Response:
    """The certificate that signs the platform's receipts (`?format=dxp`), as PEM."""
    return await forward(_customs(request), "customs", request, "/v1/platform-certificate")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway; upstream clients are opened with the app, not at import."""
    settings = settings or GatewaySettings()
    upstreams = {"customs": settings.customs_url, "risk": settings.risk_url}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.upstream_timeout_s)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        app.state.customs = httpx.AsyncClient(
            base_url=settings.customs_url, timeout=timeout, limits=limits
        )
        app.state.probe = httpx.AsyncClient(timeout=2.0)
        yield
        await app.state.customs.aclose()
        await app.state.probe.aclose()

    app = FastAPI(
        title="Clearway",
        version="1",
        description="Single-window clearance for a cross-border e-commerce pilot zone.",
        lifespan=lifespan,
    )
    http.install(app, {UpstreamUnavailable: unavailable_problem})
    app.include_router(api)

    async def upstream_health() -> dict[str, str]:
        async def one(name: str, base: str) -> tuple[str, str]:
            try:
                answer = await app.state.probe.get(f"{base}/health")
                return name, "ok" if answer.status_code == 200 else f"http {answer.status_code}"
            except httpx.HTTPError as exc:
                return name, f"unreachable ({type(exc).__name__})"

        results = await asyncio.gather(*(one(n, u) for n, u in upstreams.items()))
        return dict(results)

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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> Response:
        services = await upstream_health()
        return _TEMPLATES.TemplateResponse(request, "home.html", {"services": services})

    return app
