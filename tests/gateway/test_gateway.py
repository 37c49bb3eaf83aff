"""The gateway in front of a real customs API served over HTTP: pass-through, problems, health."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearway.broker import free_port
from customs.db import Submission
from tests.support import sample, unsigned

XML = {"Content-Type": "application/xml"}
SENDER = "1101180326"  # BaseTransfer/copCode of the official CEB311 sample


def test_a_platform_submits_through_the_gateway_and_its_correlation_id_reaches_customs(
    platform, customs_engine
):
    sender = platform.tenant("Sample sender", [SENDER])
    gateway = platform.client
    answer = gateway.post(
        "/api/v1/messages",
        content=unsigned(sample("import", "CEB311Message")),
        headers={**XML, **sender.auth(), "X-Correlation-ID": "platform-req-7"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["x-correlation-id"] == "platform-req-7"
    body = answer.json()
    assert answer.headers["location"] == f"/api/v1/submissions/{body['submissionId']}"
    receipt = gateway.get(
        f"/api/v1/receipts/{body['documents'][0]['reference']}?format=xml", headers=sender.auth()
    )
    assert receipt.status_code == 200
    assert b"<ceb:returnStatus>120</ceb:returnStatus>" in receipt.content  # decided on arrival
    with Session(customs_engine) as session:
        stored = session.execute(select(Submission)).scalar_one()
    assert stored.correlation_id == "platform-req-7"


def test_a_customs_problem_passes_through_unchanged(platform):
    sender = platform.tenant("Sample sender", [SENDER])
    answer = platform.client.post(
        "/api/v1/messages", content=b"<broken", headers={**XML, **sender.auth()}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["rule"] == "well-formed"


def test_a_body_the_gateway_takes_but_customs_refuses_as_too_large_gets_customs_413(platform):
    """The gateway's cap is above customs' (10 MiB): customs refuses while the gateway is still
    sending the body, and its problem still comes back (not a 503 for a broken connection)."""
    sender = platform.tenant("Sample sender", [SENDER])
    big = b"<x>" + b"a" * (11 * 1024 * 1024) + b"</x>"
    answer = platform.client.post("/api/v1/messages", content=big, headers={**XML, **sender.auth()})
    assert answer.status_code == 413, answer.text
    assert answer.json()["errors"][0]["rule"] == "max-body-size"


def test_a_service_that_does_not_answer_gives_a_503_problem_not_a_500(gateway_database):
    from tests.gateway.conftest import make_platform

    for platform in make_platform(f"http://127.0.0.1:{free_port()}", gateway_database):
        sender = platform.tenant("Sample sender", [SENDER])
        answer = platform.client.post(
            "/api/v1/messages", content=b"<x/>", headers={**XML, **sender.auth()}
        )
        health = platform.client.get("/health")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "customs did not answer" in answer.json()["detail"]
    assert health.status_code == 503
    assert health.json()["upstreams"]["customs"].startswith("unreachable")


def test_the_home_page_and_the_openapi_document_are_served(platform):
    home = platform.client.get("/")
    spec = platform.client.get("/openapi.json").json()
    assert home.status_code == 200
    assert "Clearway" in home.text
    assert "/api/v1/messages" in spec["paths"]
    assert "application/xml" in spec["paths"]["/api/v1/messages"]["post"]["requestBody"]["content"]


def test_every_api_operation_is_described_and_every_request_body_has_an_example(platform):
    spec = platform.client.get("/openapi.json").json()
    components = spec.get("components", {}).get("schemas", {})

    def has_example(content: dict) -> bool:
        for media in content.values():
            if "example" in media or "examples" in media:
                return True
            ref = media.get("schema", {}).get("$ref", "")
            schema = components.get(ref.rsplit("/", 1)[-1], {})
            if any(
                "examples" in p or "example" in p for p in schema.get("properties", {}).values()
            ):
                return True
        return False

    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not operation.get("description") and not operation.get("summary"):
                missing.append(f"{method} {path}: no description")
            body = operation.get("requestBody")
            if body and not has_example(body["content"]):
                missing.append(f"{method} {path}: no request example")
    assert len(spec["paths"]) > 20
    assert missing == []
