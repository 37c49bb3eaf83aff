"""CPU cost of the risk worker's handlers per declaration, in-process (no Kafka); prints figures.

    .venv/bin/python -m bench.risk_worker [--declarations 2000] [--warm 2000] [--batch 100]
        [--database sqlite|postgresql] [--no-model] [--profile] [--profile-out FILE]
        [--instructions]

Generated import traffic (`clearway.traffic.generate`) becomes the events risk consumes from
customs.events, as customs fills them (its `assess()`; the pseudonyms are plain hashes here):
per declaration one `DocumentsAcceptedV1` of its four documents (order, payment, waybill,
inventory) and one `DeclarationReadyV1`, enveloped with event times 1 ms apart. They go through
the shared consumer loop with risk's handler table (`ConsumerLoop.handle_batch`: decoding, the
inbox, the handlers, the outbox) in batches of `--batch` records (100 is the embedded broker's
max_poll_records), on a freshly migrated risk database. `--warm` declarations go first,
untimed, so the history tables are not empty (on PostgreSQL, analysed after them); then the
garbage collector is settled as in the services' processes (`clearway.collector.settle`).
With a model (the default), a compact one is trained on generated labels first, as
`clearway risk train` would.

Prints the worker process's CPU per declaration (process time; on PostgreSQL the server
backends serving it are measured apart, from /proc, when they run on this machine) and the
events and declarations per second; `--profile` adds the top of a cProfile of the timed part;
`--instructions` counts the timed part's instructions instead, per declaration, under valgrind's
callgrind (`bench.callgrind`: the same from run to run where CPU time varies by a fifth).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event as sa_event

from bench import callgrind, interpreter
from clearway import collector, traffic
from clearway.database import make_engine, migrate
from messaging.consumer import ConsumerLoop
from messaging.settings import KafkaSettings
from risk.db import runtime
from risk.domain.rules import RuleSet
from risk.handlers import handlers
from risk.model import gbm, synthetic
from risk.model.features import History, features
from risk.model.platform import declared_from
from schemas.envelope import Envelope
from schemas.events import (
    DeclarationReadyV1,
    DeclaredLine,
    DocumentAcceptedV1,
    DocumentsAcceptedV1,
)
from schemas.topics import CUSTOMS_EVENTS

T0 = datetime(2026, 11, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def _key(kind: str, value: str) -> str:
    """A stand-in for customs' keyed pseudonyms (64 hex characters)."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _money(text: str | None) -> Decimal | None:
    return None if not text else Decimal(text)


def events_of(declaration: traffic.Declaration) -> list[Any]:
    """What customs emits to customs.events that risk handles, for one complete declaration."""
    accepted: list[DocumentAcceptedV1] = []
    for doc in declaration.documents:
        head = doc.head
        parties = {
            role: head[role]
            for role in ("ebpCode", "ebcCode", "payCode", "logisticsCode", "agentCode")
            if head.get(role)
        }
        parties["copCode"] = doc.sender.code
        accepted.append(
            DocumentAcceptedV1(
                document_id=uuid.UUID(head["guid"]) if len(head["guid"]) == 36 else uuid.uuid4(),
                message_type=doc.message_type,
                business_key=head["orderNo"],
                declared_key=f"{head.get('ebpCode', doc.sender.code)}/{head['orderNo']}",
                parties=parties,
                goods_value=_money(head.get("goodsValue") or head.get("amountPaid")),
                currency=head.get("currency"),
                line_count=len(doc.lines),
            )
        )
    # customs announces a message's accepted documents together (bench.e2e's messages hold
    # ten or more of a kind); here the declaration's four, which is fewer to a record
    out: list[Any] = [DocumentsAcceptedV1(documents=tuple(accepted))]
    order = declaration.document("order").head
    inventory = declaration.document("inventory")
    head = inventory.head
    goods = Decimal(order["goodsValue"])
    freight = Decimal(head.get("freight") or "0")
    out.append(
        DeclarationReadyV1(
            declaration_id=uuid.uuid4(),
            order_no=declaration.order_no,
            ebp_code=head["ebpCode"],
            ebc_code=head["ebcCode"],
            logistics_code=head["logisticsCode"],
            trade_mode=head["tradeMode"],
            buyer_key=_key("buyer", declaration.buyer.id_number),
            goods_value=goods,
            dutiable_value=goods + freight,
            tax_total=Decimal(order["taxTotal"]),
            buyer_used_this_year=goods + freight,
            agent_code=head.get("agentCode") or None,
            departure_country=head.get("country") or None,
            transport_mode=head.get("trafMode") or None,
            net_weight=_money(head.get("netWeight")),
            lines=tuple(
                DeclaredLine(
                    gnum=int(line["gnum"]),
                    gcode=line["gcode"],
                    item_name=line["itemName"],
                    qty=Decimal(line["qty"]),
                    unit_price=Decimal(line["price"]),
                    total_price=Decimal(line["totalPrice"]),
                    country=line.get("country", "000"),
                )
                for line in inventory.lines
            ),
            phone_key=_key("phone", declaration.buyer.phone),
            address_key=_key("address", declaration.buyer.address),
        )
    )
    return out


def records(count: int, seed: int, start: int) -> list[SimpleNamespace]:
    """Consumer records (envelope JSON) for `count` declarations, event times 1 ms apart."""
    out: list[SimpleNamespace] = []
    generated = traffic.generate(count, seed=seed, bad_share=0.0, risky_share=0.05)
    for n, declaration in enumerate(generated):
        at = T0 + timedelta(milliseconds=start + n)
        for event in events_of(declaration):
            envelope = Envelope[Any](
                producer="customs",
                correlation_id=f"bench-{start + n}",
                key=declaration.order_no,
                payload=event,
                occurred_at=at,
            )
            out.append(
                SimpleNamespace(
                    value=envelope.model_dump_json().encode(),
                    topic=CUSTOMS_EVENTS.name,
                    partition=0,
                    offset=len(out),
                    key=declaration.order_no.encode(),
                    headers=[],
                )
            )
    return out


def train_model() -> gbm.RiskModel:
    """A compact model on generated labels, as `clearway risk train` would make it."""
    history = History()
    rows, labels = [], []
    for g in synthetic.declarations(3000, seed=1):
        declared = declared_from(g.event, date(2026, 10, 1))
        rows.append(features(declared, history))
        history.add(declared)
        history.add_label(declared, g.found)
        labels.append(g.found)
    return gbm.fit(rows, labels, version="bench", summary={}, compact=True)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh risk database of `kind`, migrated; dropped afterwards."""
    with ExitStack() as stack:
        if kind == "postgresql":
            from tests.support import postgres_database

            url = stack.enter_context(postgres_database())
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{Path(folder) / 'risk.db'}"
        migrate("risk", url)
        yield url


def server_cpu_s(pids: set[int]) -> float:
    """CPU seconds (user + system) of the database server processes serving the benchmark."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # another machine, or the backend is gone
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def run(
    loop: ConsumerLoop, batches: Sequence[Sequence[SimpleNamespace]], stop: threading.Event
) -> None:
    for batch in batches:
        loop.handle_batch(batch, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--declarations", type=int, default=2000, help="timed declarations")
    parser.add_argument("--warm", type=int, default=2000, help="declarations before, untimed")
    parser.add_argument("--batch", type=int, default=100, help="records per polled batch")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--no-model", action="store_true", help="rules only")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    parser.add_argument("--profile-out", metavar="FILE", help="also save the cProfile stats")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the timed part's instructions under valgrind's callgrind instead",
    )
    args = parser.parse_args()
    if args.instructions and not callgrind.under_callgrind():
        argv = callgrind.without_option(sys.argv[1:], "--instructions")
        callgrind.run("bench.risk_worker", "handlers", argv)
        return

    model = None if args.no_model else train_model()
    rules = RuleSet(random_inspection_rate=Decimal("0.02"))
    warm = records(args.warm, seed=3, start=0)
    timed = records(args.declarations, seed=4, start=args.warm)

    def batched(items: list[SimpleNamespace]) -> list[list[SimpleNamespace]]:
        return [items[i : i + args.batch] for i in range(0, len(items), args.batch)]

    with database(args.database) as url:
        engine = make_engine(url)
        backends: set[int] = set()
        if args.database == "postgresql":

            @sa_event.listens_for(engine, "connect")
            def _note_backend(dbapi_connection: Any, _record: Any) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    backends.add(cursor.fetchone()[0])

        loop = ConsumerLoop(
            service="risk",
            group_id="risk",
            topics=(CUSTOMS_EVENTS,),
            handlers=handlers(rules, model),
            engine=engine,
            tables=runtime,
            settings=KafkaSettings(),
            producer_factory=lambda: None,
        )
        stop = threading.Event()
        run(loop, batched(warm), stop)
        if args.database == "postgresql":
            # as autovacuum would have by now in a database that grew over days: without
            # statistics the planner takes the young tables for tiny and scans them
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        collector.settle()  # as `clearway.serve` does in the services' processes
        profiler = cProfile.Profile() if args.profile or args.profile_out else None
        server0 = server_cpu_s(backends)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        with callgrind.counting("handlers", args.declarations):
            run(loop, batched(timed), stop)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        server = server_cpu_s(backends) - server0
        engine.dispose()
    assert loop.stats.dead_lettered == 0, loop.stats
    events = len(timed)
    print(
        f"risk worker handlers, {args.database}, "
        f"{'model ' + model.version if model else 'rules only'}, batches of {args.batch} "
        f"records, {args.warm} declarations before, {interpreter()}:"
    )
    print(
        f"  {args.declarations} declarations ({events} events) in {wall:.2f}s wall, "
        f"{cpu:.2f}s CPU: {cpu / args.declarations * 1000:.2f} ms CPU per declaration, "
        f"{events / wall:.0f} events/s, {args.declarations / wall:.0f} declarations/s"
    )
    if backends:
        print(
            f"  PostgreSQL server backends: {server:.2f}s CPU, "
            f"{server / args.declarations * 1000:.2f} ms per declaration"
        )
    if profiler is not None and args.profile_out:
        profiler.dump_stats(args.profile_out)
    if profiler is not None and args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
