"""Customs' hot path in one process, without Kafka or HTTP: CPU per declaration, per stage.

    .venv/bin/python -m bench.customs_worker [--declarations 2000] [--batch 500]
        [--per-tick 1000] [--group 1] [--bad-share 0] [--database sqlite|postgresql]
        [--profile submit|routes]

Generated declarations (`clearway.traffic`, `--bad-share` of them bad, as bench.e2e's 1%: each
kind of refusal in turn, a duplicated order among them) are submitted with the customs use case
the API calls (`service.submit_message`: parse, XSD, field rules, signature, and the decision on
each document, in one transaction per message; with `--group N`, N messages at a time in one
transaction, as the API's group commit writes what its callers queued: `service.check_and_write`);
each declaration is then routed by a
RiskAssessed event (release, review, inspect in the ratio 3:1:1) through the worker's consumer
loop (`ConsumerLoop._apply`, the inbox and the outbox included) in polled batches of `--batch`
records. `--per-tick` declarations at a time become messages, as bench.e2e sends them (at
120/s and its 0.25 s tick: 30, messages of ~10 documents), submitted one after the other (no
two at once: each is a group of one). Prints CPU ms per declaration and declarations per second
of one core for each stage; `--profile` prints a cProfile of one stage. Before the stages, the
garbage collector is settled as in the services' processes (`clearway.collector.settle`).

`--instructions submit|routes` counts the instructions of that stage instead, per declaration,
under valgrind's callgrind (`bench.callgrind`: the same from run to run where CPU time varies
by a fifth; 1,000 declarations take about a minute).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select

from bench import callgrind, interpreter
from clearway import collector, traffic
from clearway.database import migrate
from customs.context import Customs
from customs.db import runtime
from customs.domain.access import EVERYTHING
from customs.domain.errors import MessageFormatError
from customs.handlers import handlers
from customs.service import _Submission, check_and_write, submit_message
from customs.settings import CustomsSettings
from messaging.consumer import ConsumerLoop
from messaging.settings import KafkaSettings
from schemas.envelope import Envelope
from schemas.events import RiskAssessedV1

ROUTES = ("release", "release", "review", "release", "inspect")


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        from tests.support import postgres_database

        with postgres_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'customs.db'}"


def stage(name: str, count: int, action: Callable[[], None], profile: str | None) -> None:
    profiler = cProfile.Profile() if profile == name else None
    started_cpu, started = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with callgrind.counting(name, count):
        action()
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    print(
        f"{name:<8} {1000 * cpu / count:7.2f} ms CPU per declaration  "
        f"{count / cpu:8,.0f} declarations/s of one core  (wall {wall:.1f} s)"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


def records(bodies: list[str], topic: str) -> list[Any]:
    return [
        SimpleNamespace(value=v.encode(), topic=topic, partition=0, offset=n, key=b"", headers=[])
        for n, v in enumerate(bodies)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--declarations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500, help="records per polled batch")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", choices=("submit", "routes"))
    parser.add_argument(
        "--per-tick", type=int, default=1000, help="declarations per batch of messages"
    )
    parser.add_argument("--group", type=int, default=1, help="messages per transaction")
    parser.add_argument("--bad-share", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--instructions",
        choices=("submit", "routes"),
        help="count the instructions of one stage under valgrind's callgrind instead",
    )
    args = parser.parse_args()
    if args.instructions is not None and not callgrind.under_callgrind():
        argv = callgrind.without_option(sys.argv[1:], "--instructions")
        callgrind.run("bench.customs_worker", args.instructions, argv)
        return
    with ExitStack() as stack:
        url = stack.enter_context(database(args.database))
        migrate("customs", url)
        settings = CustomsSettings(database_url=url, data_key="bench-data-key-" + "0" * 40)
        customs = Customs.from_settings(settings)
        identities = traffic.make_identities()
        traffic.register_signers(customs, identities)
        generated = list(
            traffic.generate(args.declarations, args.seed, bad_share=args.bad_share, risky_share=0)
        )
        messages = [
            message
            for start in range(0, len(generated), args.per_tick)
            for message in traffic.messages(generated[start : start + args.per_tick], identities)
        ]
        count = args.declarations
        print(
            f"{count} declarations in {len(messages)} messages, {args.database}, "
            f"{args.group} a transaction, batches of {args.batch} records, {interpreter()}"
        )

        def submit() -> None:
            if args.group == 1:
                for message in messages:
                    with suppress(MessageFormatError):  # a bad one's refusal
                        submit_message(customs, message.body, correlation_id="bench")
                return
            for start in range(0, len(messages), args.group):
                group = [
                    _Submission(message.body, "bench", EVERYTHING, None)
                    for message in messages[start : start + args.group]
                ]
                check_and_write(customs, group)

        collector.settle()  # as `clearway.serve` does in the services' processes
        stage("submit", count, submit, args.profile)

        loop = ConsumerLoop(
            service="customs",
            group_id="customs",
            topics=(),
            handlers=handlers(customs),
            engine=customs.engine,
            tables=runtime,
            settings=KafkaSettings(),
            producer_factory=lambda: None,  # never called: nothing is dead-lettered
        )

        def drain(event_type: str | None = None) -> list[str]:
            outbox = runtime.outbox
            query = select(outbox.c.body).order_by(outbox.c.id)
            if event_type is not None:
                query = query.where(outbox.c.event_type == event_type)
            with customs.engine.begin() as conn:
                bodies = list(conn.execute(query).scalars())
                conn.execute(delete(outbox))
            return bodies

        def consume(batch: list[Any]) -> Callable[[], None]:
            def run() -> None:
                for start in range(0, len(batch), args.batch):
                    loop._apply([loop._decode(r) for r in batch[start : start + args.batch]])

            return run

        ready = drain("customs.declaration_ready.v1")
        routes = []
        for n, body in enumerate(ready):
            payload = json.loads(body)["payload"]
            event = RiskAssessedV1(
                declaration_id=payload["declaration_id"],
                order_no=payload["order_no"],
                score=10,
                route=ROUTES[n % len(ROUTES)],
                ruleset_version="bench",
            )
            envelope = Envelope[Any](
                producer="risk", correlation_id="bench", key=event.order_no, payload=event
            )
            routes.append(envelope.model_dump_json())
        print(f"{len(ready)} declarations ready for risk")
        stage("routes", max(1, len(routes)), consume(records(routes, "risk.events")), args.profile)
        customs.engine.dispose()


if __name__ == "__main__":
    main()
