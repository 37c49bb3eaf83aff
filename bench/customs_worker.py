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
of one core for each stage; `--profile` prints a cProfile of one stage.

`--instructions submit|routes` runs the bench again under valgrind's callgrind, counting the
instructions the machine executes in that stage alone (the process's threads and the libraries
it calls: SQLite, lxml, OpenSSL), and prints them per declaration. CPU time on the development
machine varied by up to a fifth within minutes; the count of the same code on the same input
varies by about 0.2% between runs, whatever else the machine does, so a change of a percent or
two shows. It is not time: a cache miss or a system call's wait costs no instruction. The run
takes about 60 times as long (1,000 declarations: about a minute).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select

from bench import interpreter
from clearway import traffic
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


# Set by `--instructions` for the run under callgrind: the stage to count, and the file the
# count of declarations goes to (callgrind writes its own output file at the process's end).
_COUNTED_STAGE = "BENCH_CALLGRIND_STAGE"
_COUNT_FILE = "BENCH_CALLGRIND_COUNT"


def _callgrind(switch: str) -> None:
    """Counting on or off in this process, which runs under callgrind."""
    subprocess.run(
        ["callgrind_control", "--instr=" + switch, str(os.getpid())],
        check=True,
        capture_output=True,
    )


def stage(name: str, count: int, action: Callable[[], None], profile: str | None) -> None:
    profiler = cProfile.Profile() if profile == name else None
    counted = os.environ.get(_COUNTED_STAGE) == name
    started_cpu, started = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    if counted:
        _callgrind("on")
    action()
    if counted:
        _callgrind("off")
        Path(os.environ[_COUNT_FILE]).write_text(str(count))
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


def count_instructions(stage_name: str, argv: list[str]) -> None:
    """Run this bench again under callgrind, counting only `stage_name`; print the count."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--instructions needs valgrind (Debian's package valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out, count_file = Path(folder) / "callgrind.out", Path(folder) / "count"
        env = {**os.environ, _COUNTED_STAGE: stage_name, _COUNT_FILE: str(count_file)}
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.customs_worker",
            *argv,
        ]
        started = time.perf_counter()
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if run.returncode != 0 or not count_file.exists():
            sys.stderr.write(run.stdout + run.stderr)
            raise SystemExit(f"the run under callgrind failed (exit {run.returncode})")
        print(run.stdout.splitlines()[0])  # what was run, on which Python
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        instructions, count = int(totals[0].split()[1]), int(count_file.read_text())
    print(
        f"{stage_name:<8} {instructions / count / 1e6:7.3f} M instructions per declaration "
        f"(callgrind, {count} declarations, {time.perf_counter() - started:.0f} s)"
    )


def _without_instructions(argv: list[str]) -> list[str]:
    """The command line without its --instructions option (`--instructions X`, `--instr=X`)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif "--instructions".startswith(arg.split("=")[0]) and arg.startswith("--instr"):
            skip = "=" not in arg
        else:
            kept.append(arg)
    return kept


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
    if args.instructions is not None and _COUNTED_STAGE not in os.environ:
        count_instructions(args.instructions, _without_instructions(sys.argv[1:]))
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
