"""The gateway worker's consumer path alone: CPU per declaration of the webhook fan-out.

    .venv/bin/python -m bench.gateway_fanout [--declarations 3000] [--batch 100]
    .venv/bin/python -m bench.gateway_fanout --subscribed 0.1   # a tenth of the tenants subscribe
    .venv/bin/python -m bench.gateway_fanout --batch 7          # e2e --rate 50's poll sizes

Builds a migrated SQLite gateway database with the traffic's enterprises as tenants (and, with
`--subscribed`, an active subscription to every event type for that share of them), then feeds
customs.events as the gateway worker sees them per declaration (a DocumentsAcceptedV1 of its
four documents, a DeclarationReadyV1 it skips, a ClearancesChangedV1 of its release: 399 and
800; the platform announces a whole run of routes' receipts in one) to the
worker's own consumer loop (`gateway.worker.spec()`'s handler table) in polls of `--batch`
records: decoding, inbox de-duplication, the fan-out and the commit, as
`ConsumerLoop.handle_batch` does them. The broker is left out (kafka-python's fetch is the same
for any handler). Prints CPU ms per declaration and the deliveries made.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clearway import traffic
from clearway.database import migrate
from gateway import tenancy
from gateway.box import SecretBox
from gateway.db import WebhookDelivery
from gateway.domain.access import Kind, Principal
from gateway.domain.webhooks import SUBSCRIBABLE
from gateway.settings import GatewaySettings
from gateway.webhooks import subscribe
from gateway.worker import spec
from messaging.consumer import ConsumerLoop
from messaging.settings import KafkaSettings
from schemas.envelope import Envelope
from schemas.events import (
    ClearanceChangedV1,
    ClearancesChangedV1,
    DocumentAcceptedV1,
    DocumentsAcceptedV1,
)
from schemas.topics import CUSTOMS_EVENTS

ADMIN = Principal(kind=Kind.ADMIN, name="bench")


@dataclass
class Record:
    """What the consumer loop reads of a Kafka record."""

    value: bytes
    offset: int
    key: bytes | None = None
    topic: str = CUSTOMS_EVENTS.name
    partition: int = 0
    headers: list[tuple[str, bytes]] | None = None


def _accepted(message_type: str, key: str, parties: dict[str, str]) -> DocumentAcceptedV1:
    return DocumentAcceptedV1(
        document_id=uuid.uuid4(),
        message_type=message_type,
        business_key=key,
        declared_key=f"{parties.get('ebpCode', '-')}/{key}",
        parties=parties,
        goods_value=Decimal("199.00"),
        currency="142",
        line_count=1,
    )


def events(rng: random.Random, n: int) -> list[bytes]:
    """The customs.events records of one declaration, as customs publishes them."""
    platform, seller = rng.choice(traffic.PLATFORMS), rng.choice(traffic.SELLERS)
    payer, carrier = rng.choice(traffic.PAYERS), rng.choice(traffic.CARRIERS)
    order_no = f"BENCH{n:08d}"
    inventory = {"ebpCode": platform.code, "ebcCode": seller.code, "agentCode": seller.code}
    inventory["logisticsCode"] = carrier.code
    documents = [
        _accepted(
            "CEB311Message",
            order_no,
            {"ebpCode": platform.code, "ebcCode": seller.code, "copCode": seller.code},
        ),
        _accepted(
            "CEB411Message",
            order_no,
            {"ebpCode": platform.code, "payCode": payer.code, "copCode": payer.code},
        ),
        _accepted(
            "CEB511Message", order_no, {"logisticsCode": carrier.code, "copCode": carrier.code}
        ),
        _accepted("CEB621Message", order_no, {**inventory, "copCode": seller.code}),
    ]
    # customs announces a message's accepted documents together; here the declaration's four
    payloads: list[Any] = [DocumentsAcceptedV1(documents=tuple(documents))]
    declaration_id, document_id = uuid.uuid4(), documents[-1].document_id
    ready = {"type": "customs.declaration_ready.v1", "order_no": order_no, "lines": ["..."] * 8}
    changes = tuple(
        ClearanceChangedV1(
            declaration_id=declaration_id,
            document_id=document_id,
            order_no=order_no,
            return_status=status,
            return_info=info,
            parties=inventory,
        )
        for status, info in ((399, "review concluded"), (800, "released"))
    )
    payloads.append(ClearancesChangedV1(changes=changes))
    records = [
        Envelope[Any](producer="customs", correlation_id=order_no, key=order_no, payload=p)
        .model_dump_json()
        .encode()
        for p in payloads
    ]
    skipped = Envelope[Any](
        producer="customs", correlation_id=order_no, key=order_no, payload=payloads[0]
    ).model_dump(mode="json")
    skipped["payload"] = ready
    records.insert(1, json.dumps(skipped).encode())
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100, help="records per poll")
    parser.add_argument("--subscribed", type=float, default=0.0, help="share of tenants")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    records = [
        Record(value, offset)
        for offset, value in enumerate(v for n in range(args.declarations) for v in events(rng, n))
    ]
    per_declaration = len(records) / args.declarations
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        url = f"sqlite:///{Path(folder) / 'gateway.db'}"
        migrate("gateway", url)
        settings = GatewaySettings(database_url=url, data_key="bench-data-key-" + "x" * 32)
        worker = spec(settings)
        engine = worker.engine
        enterprises = list(traffic.ENTERPRISES)
        subscribed = 0
        for index, enterprise in enumerate(enterprises):
            tenant = tenancy.create_tenant(
                engine, ADMIN, name=enterprise.name, codes=[enterprise.code], roles=[]
            )
            if index < round(args.subscribed * len(enterprises)):
                owner = Principal(kind=Kind.TENANT, name="bench", tenant_id=tenant["id"])
                subscribe(
                    engine,
                    SecretBox(settings.data_key),
                    owner,
                    url="http://127.0.0.1:9/hooks",
                    event_types=list(SUBSCRIBABLE),
                )
                subscribed += 1
        loop = ConsumerLoop(
            service="gateway",
            group_id="gateway",
            topics=worker.topics,
            handlers=worker.handlers,
            engine=engine,
            tables=worker.tables,
            settings=KafkaSettings(),
            producer_factory=lambda: (_ for _ in ()).throw(RuntimeError("no DLQ in the bench")),
        )
        stop = threading.Event()
        warm = args.batch * 5
        for start in range(0, warm, args.batch):
            loop.handle_batch(records[start : start + args.batch], stop)
        measured = records[warm:]
        declarations = len(measured) / per_declaration
        started, wall = time.process_time(), time.perf_counter()
        for start in range(0, len(measured), args.batch):
            loop.handle_batch(measured[start : start + args.batch], stop)
        cpu = time.process_time() - started
        wall = time.perf_counter() - wall
        with Session(engine) as session:
            made = session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
        engine.dispose()
    print(
        f"{declarations:.0f} declarations ({len(measured)} events, polls of {args.batch}), "
        f"{subscribed} of {len(enterprises)} tenants subscribed: {made} deliveries in all"
    )
    print(
        f"consumer + fan-out: {1000 * cpu / declarations:.2f} ms CPU per declaration "
        f"({1e6 * cpu / len(measured):.0f} µs per event; {wall:.1f}s wall)"
    )
    print(f"stats: {loop.stats.as_dict()}")


if __name__ == "__main__":
    main()
