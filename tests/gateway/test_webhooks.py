"""Webhooks on the real broker: a customs receipt reaches a tenant's endpoint, signed; a failed
delivery is logged, retried later and can be replayed by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clearway.database import make_engine
from customs import service
from customs.db import runtime as customs_runtime
from customs.handlers import TOPICS as CUSTOMS_TOPICS
from customs.handlers import handlers
from gateway.box import SecretBox
from gateway.webhooks import Deliverer
from gateway.worker import spec as gateway_spec
from messaging.worker import Worker, WorkerSpec
from tests.gateway.conftest import GATEWAY_DATA_KEY
from tests.support import sample, unsigned, wait_for

SENDER = "1101180326"
PLATFORM_CODE = "1105910159"  # ebpCode / ebcCode of the official CEB311 sample


class Receiver:
    """A subscriber's endpoint: records what it gets, answers with the statuses it is given."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([500])
    yield found
    found.close()


def test_a_receipt_reaches_the_subscribed_tenant_signed_and_a_failure_can_be_replayed(
    broker, customs, platform, gateway_database, receiver, monkeypatch
):
    seller = platform.tenant("Seller", [PLATFORM_CODE])
    subscribed = platform.client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "eventTypes": ["customs.document_accepted.v1"]},
        headers=seller.auth(),
    )
    assert subscribed.status_code == 201, subscribed.text
    secret = subscribed.json()["secret"]
    bad = platform.client.post(
        "/api/v1/webhooks",
        json={"url": "ftp://x", "eventTypes": ["nope"]},
        headers=seller.auth(),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "url"

    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_database)
    monkeypatch.setenv("GATEWAY_DATA_KEY", GATEWAY_DATA_KEY)
    gateway_worker_spec = gateway_spec()
    engine = make_engine(gateway_database)
    deliverer = Deliverer(engine, SecretBox(GATEWAY_DATA_KEY), first_retry_s=3600)
    gateway_worker = Worker(
        WorkerSpec(
            "gateway",
            gateway_worker_spec.engine,
            gateway_worker_spec.tables,
            gateway_worker_spec.topics,
            gateway_worker_spec.handlers,
            loops=[("webhooks", deliverer.run)],
        ),
        broker.settings,
    )
    customs_worker = Worker(
        WorkerSpec("customs", customs.engine, customs_runtime, CUSTOMS_TOPICS, handlers(customs)),
        broker.settings,
    )
    service.submit_message(
        customs, unsigned(sample("import", "CEB311Message")), correlation_id="hook-1"
    )
    for worker in (customs_worker, gateway_worker):
        worker.start()
    try:
        wait_for(lambda: len(receiver.received) >= 1, timeout_s=30)
        log = wait_for(
            lambda: (
                (
                    d := platform.client.get(
                        "/api/v1/webhooks/deliveries", headers=seller.auth()
                    ).json()["deliveries"]
                )
                and d[0]["attempts"] == 1
                and d
            ),
            timeout_s=10,
        )
        (delivery,) = log
        assert delivery["state"] == "pending" and delivery["lastStatus"] == 500
        replayed = platform.client.post(
            f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=seller.auth()
        )
        assert replayed.status_code == 200
        wait_for(lambda: len(receiver.received) >= 2, timeout_s=10)
        delivered = wait_for(
            lambda: (
                (
                    d := platform.client.get(
                        "/api/v1/webhooks/deliveries?state=delivered", headers=seller.auth()
                    ).json()["deliveries"]
                )
                and d
            ),
            timeout_s=10,
        )
    finally:
        for worker in (customs_worker, gateway_worker):
            worker.stop.set()
        for worker in (customs_worker, gateway_worker):
            worker.join()
        engine.dispose()
        gateway_worker_spec.engine.dispose()
    assert delivered[0]["attempts"] == 2
    headers, body = receiver.received[-1]
    timestamp, _, mac = headers["X-Clearway-Signature"].partition(",v1=")
    expected = hmac.new(
        secret.encode(), timestamp.removeprefix("t=").encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert mac == expected
    payload = json.loads(body)
    assert payload["type"] == "customs.document_accepted.v1"
    assert payload["data"]["business_key"] == "order20160321116421002"
    assert payload["data"]["return_status"] == 120
    assert payload["data"]["parties"]["copCode"] == SENDER
    # The sender's other tenant (not subscribed) got nothing; a foreign tenant sees no log.
    foreign = platform.tenant("Foreign", ["3301960ABC"])
    foreign_log = platform.client.get("/api/v1/webhooks/deliveries", headers=foreign.auth())
    assert foreign_log.json()["deliveries"] == []
    assert (
        platform.client.post(
            f"/api/v1/webhooks/deliveries/{delivery['id']}/replay", headers=foreign.auth()
        ).status_code
        == 404
    )


def test_an_export_inventorys_clearance_change_reaches_the_subscribed_consignor(
    broker, customs, platform, gateway_database, monkeypatch
):
    from tests.customs.builders import EXPORT_CONSIGNOR, export_inventory_message

    receiver = Receiver([])
    consignor = platform.tenant("Exporter", [EXPORT_CONSIGNOR])
    subscribed = platform.client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "eventTypes": ["customs.clearance_changed.v1"]},
        headers=consignor.auth(),
    )
    assert subscribed.status_code == 201, subscribed.text
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_database)
    monkeypatch.setenv("GATEWAY_DATA_KEY", GATEWAY_DATA_KEY)
    gateway_worker_spec = gateway_spec()
    engine = make_engine(gateway_database)
    gateway_worker = Worker(
        WorkerSpec(
            "gateway",
            gateway_worker_spec.engine,
            gateway_worker_spec.tables,
            gateway_worker_spec.topics,
            gateway_worker_spec.handlers,
            loops=[("webhooks", Deliverer(engine, SecretBox(GATEWAY_DATA_KEY)).run)],
        ),
        broker.settings,
    )
    customs_worker = Worker(
        WorkerSpec("customs", customs.engine, customs_runtime, CUSTOMS_TOPICS, handlers(customs)),
        broker.settings,
    )
    service.submit_message(customs, export_inventory_message("HOOK1"), correlation_id="hook-2")
    for worker in (customs_worker, gateway_worker):
        worker.start()
    try:
        wait_for(lambda: len(receiver.received) >= 1, timeout_s=30)
    finally:
        for worker in (customs_worker, gateway_worker):
            worker.stop.set()
        for worker in (customs_worker, gateway_worker):
            worker.join()
        engine.dispose()
        gateway_worker_spec.engine.dispose()
        receiver.close()
    assert not customs_worker.failed and not gateway_worker.failed
    (only,) = [json.loads(body) for _headers, body in receiver.received]
    assert only["type"] == "customs.clearance_changed.v1"
    data = only["data"]
    assert (data["direction"], data["return_status"], data["receipt_message"]) == (
        "export",
        120,
        "CEB604Message",
    )
    assert data["order_no"] == "EXP-HOOK1" and data["invt_no"].startswith("1501")
    assert data["parties"]["ebcCode"] == EXPORT_CONSIGNOR
