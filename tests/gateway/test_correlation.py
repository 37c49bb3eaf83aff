"""The edge every service shares (clearway.http, as the gateway installs it): each answer carries
the correlation id, the caller's when valid; an unhandled error is a 500 problem, logged."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clearway import http


def _app() -> FastAPI:
    app = FastAPI()
    http.install(app, {})

    @app.get("/seen")
    async def seen() -> dict[str, str]:
        return {"id": http.current_correlation_id()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    return app


def test_the_callers_correlation_id_is_used_and_answered_and_a_bad_one_replaced():
    client = TestClient(_app())
    kept = client.get("/seen", headers={"X-Correlation-ID": "trace-42"})
    assert kept.headers["x-correlation-id"] == "trace-42" == kept.json()["id"]
    fresh = client.get("/seen", headers={"X-Correlation-ID": "bad id"})
    assert fresh.headers["x-correlation-id"] == fresh.json()["id"] != "bad id"
    assert len(fresh.json()["id"]) == 36
    missing = client.get("/nowhere", headers={"X-Correlation-ID": "trace-43"})
    assert missing.status_code == 404 and missing.headers["x-correlation-id"] == "trace-43"


def test_an_unhandled_error_is_a_logged_500_problem_without_internals(
    caplog: pytest.LogCaptureFixture,
):
    client = TestClient(_app(), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="clearway.http"):
        answer = client.get("/boom", headers={"X-Correlation-ID": "trace-44"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-correlation-id"] == "trace-44"
    assert answer.json()["correlation_id"] == "trace-44"
    assert "internal detail" not in answer.text
    assert "trace-44" in caplog.text
