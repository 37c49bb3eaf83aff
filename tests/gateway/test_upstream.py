"""The gateway's HTTP calls to a service: what goes through, what the client must not do.

The service here is a small ASGI app served by uvicorn over real HTTP that shows what it was
sent; the client is the gateway's own (`gateway.upstream`), in the app's event loop.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from gateway import upstream
from gateway.domain.access import Kind, Principal
from tests.gateway.conftest import _serve

TENANT = Principal(Kind.TENANT, "seller-1", tenant_id="t1", codes=frozenset({"3301960001"}))


def _service() -> FastAPI:
    """Answers with what it received: method, path, query, headers, body digest, client port."""
    app = FastAPI()

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST"])
    async def echo(rest: str, request: Request) -> Response:
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "cookie": request.headers.get("cookie"),
            "contentType": request.headers.get("content-type"),
            "scope": request.headers.get("x-clearway-scope"),
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "json": json.loads(body) if rest == "json" else None,
            "clientPort": request.client.port if request.client else None,
        }
        headers = {"Set-Cookie": "session=from-the-service; Path=/"} if rest == "cookie" else {}
        if rest == "moved":
            headers["Location"] = "/v1/elsewhere"
            return Response(status_code=303, headers=headers)
        return Response(json.dumps(seen), media_type="application/json", headers=headers)

    return app


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    # by name, not address: a cookie jar keeps cookies from a host name but not from an IP
    for url in _serve(_service()):
        yield url.replace("127.0.0.1", "localhost")


def _app(service_url: str) -> FastAPI:
    """An app with the service as an Upstream opened and closed with it, as the gateway's."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = upstream.Upstream("svc", service_url, timeout_s=5.0)
        yield
        await app.state.service.close()

    return FastAPI(lifespan=lifespan)


@pytest.fixture
def gateway(service_url: str) -> Iterator[TestClient]:
    """A gateway-shaped app: its routes forward to, or call, the service."""
    app = _app(service_url)

    @app.api_route("/api/{path:path}", methods=["GET", "POST"])
    async def forwarded(path: str, request: Request) -> Response:
        return await upstream.forward(app.state.service, request, "/" + path, TENANT)

    @app.post("/call/{path:path}")
    async def called(path: str, request: Request) -> dict[str, Any]:
        answer = await upstream.call(
            app.state.service,
            "POST",
            "/" + path,
            TENANT,
            params={"limit": 5, "status": None, "orderNo": ""},
            json=await request.json(),
        )
        return {"status": answer.status_code, "seen": answer.json(), "text": answer.text}

    with TestClient(app) as client:
        yield client


def test_a_large_body_and_repeated_query_parameters_reach_the_service_unchanged(gateway):
    body = bytes(range(256)) * 1200  # 300 KB, every byte value
    answer = gateway.post(
        "/api/v1/messages?a=1&a=2&b=x%20y",
        content=body,
        headers={"Content-Type": "application/xml", "Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/v1/messages"
    assert seen["query"] == "a=1&a=2&b=x+y"
    assert (seen["length"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert seen["contentType"] == "application/xml"
    assert seen["scope"] == "codes=3301960001"


def test_a_redirect_is_answered_to_the_caller_under_the_gateway_prefix_not_followed(gateway):
    answer = gateway.get("/api/v1/moved", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/api/v1/elsewhere"


def test_a_cookie_one_caller_got_from_a_service_is_not_sent_for_the_next(gateway):
    first = gateway.get("/api/v1/cookie")
    assert first.status_code == 200
    second = gateway.get("/api/v1/anything")
    assert second.json()["cookie"] is None


def test_call_sends_json_leaves_out_empty_parameters_and_reads_the_answer(gateway):
    answer = gateway.post("/call/v1/json", json={"orderNo": "订单-1", "amount": "12.50"})
    assert answer.status_code == 200
    result = answer.json()
    assert result["status"] == 200
    assert result["seen"]["json"] == {"orderNo": "订单-1", "amount": "12.50"}
    assert result["seen"]["query"] == "limit=5"
    assert result["seen"]["contentType"] == "application/json"
    assert json.loads(result["text"]) == result["seen"]


def test_connections_are_kept_for_the_next_request_and_let_go_once_idle(
    gateway, monkeypatch: pytest.MonkeyPatch, service_url: str
):
    ports = {gateway.get("/api/v1/a").json()["clientPort"] for _ in range(5)}
    assert len(ports) == 1  # one connection, used again

    monkeypatch.setattr(upstream, "IDLE_S", 0.3)
    app = _app(service_url)

    @app.get("/port")
    async def port(request: Request) -> Response:
        return await upstream.forward(app.state.service, request, "/v1/p", TENANT)

    with TestClient(app) as client:
        first = client.get("/port").json()["clientPort"]
        assert client.get("/port").json()["clientPort"] == first
        time.sleep(1.0)  # idle longer than IDLE_S
        assert client.get("/port").json()["clientPort"] != first
