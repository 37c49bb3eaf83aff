"""The gateway in front of a real customs API served over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearway.broker import free_port
from customs.app import create_app as create_customs
from customs.db import Submission
from customs.settings import CustomsSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import TEST_DATA_KEY
from tests.support import sample, unsigned, wait_for

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def customs_url(database_url, customs_engine) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_customs(CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _gateway(customs_url: str, risk_url: str = "http://127.0.0.1:9") -> TestClient:
    return TestClient(create_app(GatewaySettings(customs_url=customs_url, risk_url=risk_url)))


def test_a_platform_submits_through_the_gateway_and_its_correlation_id_reaches_customs(
    customs_url, customs_engine
):
    with _gateway(customs_url) as gateway:
        answer = gateway.post(
            "/api/v1/messages",
            content=unsigned(sample("import", "CEB311Message")),
            headers={**XML, "X-Correlation-ID": "platform-req-7"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.headers["x-correlation-id"] == "platform-req-7"
        body = answer.json()
        assert answer.headers["location"] == f"/api/v1/submissions/{body['submissionId']}"
        receipt = gateway.get(f"/api/v1/receipts/{body['documents'][0]['reference']}?format=xml")
        assert receipt.status_code == 200
        assert b"<ceb:returnStatus>2</ceb:returnStatus>" in receipt.content
    with Session(customs_engine) as session:
        stored = session.execute(select(Submission)).scalar_one()
    assert stored.correlation_id == "platform-req-7"


def test_a_customs_problem_passes_through_unchanged(customs_url):
    with _gateway(customs_url) as gateway:
        answer = gateway.post("/api/v1/messages", content=b"<broken", headers=XML)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["rule"] == "well-formed"


def test_a_service_that_does_not_answer_gives_a_503_problem_not_a_500():
    with _gateway(f"http://127.0.0.1:{free_port()}") as gateway:
        answer = gateway.post("/api/v1/messages", content=b"<x/>", headers=XML)
        health = gateway.get("/health")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "customs did not answer" in answer.json()["detail"]
    assert health.status_code == 503
    assert health.json()["upstreams"]["customs"].startswith("unreachable")


def test_the_home_page_and_the_openapi_document_are_served(customs_url):
    with _gateway(customs_url) as gateway:
        home = gateway.get("/")
        spec = gateway.get("/openapi.json").json()
    assert home.status_code == 200
    assert "Clearway" in home.text
    assert "/api/v1/messages" in spec["paths"]
    assert "application/xml" in spec["paths"]["/api/v1/messages"]["post"]["requestBody"]["content"]
