"""End-to-end benchmark: generated declarations through the gateway to their decision receipts.

    .venv/bin/python -m bench.e2e --rate 1000 --seconds 600 [--database postgresql]
    .venv/bin/python -m bench.e2e --closed-loop --in-flight 2000 --seconds 60
    .venv/bin/python -m bench.e2e --url http://127.0.0.1:8000 --rate 300 --seconds 60

Starts the platform as `clearway up` does (embedded broker, SQLite files or fresh PostgreSQL
databases) unless --url names a running one. Before the clock starts, it generates the run's
declarations (`clearway.traffic`, with bad and risky shares) and writes them as signed CEB
messages (one per document type and sender, up to 100 documents), as the integrators' own
machines would; then every `--tick` seconds it submits the messages of the declarations due at
the offered rate (all at the tick's start, or under `--spread` evenly over the tick) from
`--clients` concurrent HTTP clients (`--idempotency-keys`: each message with an Idempotency-Key,
as integrators are told to send); in closed loop it keeps up to `--in-flight` declarations
waiting for their decision instead, a quarter at a time. A separate process reads customs.events
from its end (no consumer group) and notes when it sees each declaration's decision receipt:
release (800), review (300), inspect (500) or reject (100). Latency is from the start of the
POST of a declaration's last document to the publication of its decision receipt (the record's
timestamp, given by customs' relay; the observer may lag behind on a saturated machine). The
observer also reads risk.events and, from the timestamps the relays gave the records, splits
that latency by stage: the POST until answered, until customs published the declaration ready
for risk, until risk published its route, until customs published the decision; and the
observer's own lag.

It prints the sustained rate, p50/p95/p99 latency (overall and per tenth of the run), how many
of the run's declarations customs' database holds decided (whether or not the observer, which
may fall behind on a long run, saw them), CPU and memory per process (on PostgreSQL also the
server's CPU, every `postgres` process of the machine), each service's database
size at the end (per declaration decided), every error (the
deliberately bad documents must get their exact error and count as expected), and the floor:
the same messages through parse + XSD + field rules + signature in this process, and the
project producer's raw throughput to the platform's broker.

On PostgreSQL the run notes whether the server runs autovacuum; `--vacuum-every S` has the bench
run `VACUUM (ANALYZE)` on the platform's databases every S seconds, as autovacuum would on a
deployment's server, for a server set up without it (the outbox's and inboxes' dead rows and the
planner's statistics are otherwise never cleaned up during the run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC
from itertools import islice
from pathlib import Path
from queue import Empty
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.engine import make_url

from bench import interpreter
from clearway import collector, traffic
from clearway.broker import free_port
from clearway.cli import database_url
from clearway.database import make_engine
from clearway.demo import PlatformClient, admin_key, check_answer, enterprises

FINAL = {800: "release", 300: "review", 500: "inspect", 100: "reject"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the platform ---------------------------------------------------------------------------------


@contextmanager
def platform(database: str, data_dir: Path) -> Iterator[dict[str, Any]]:
    """`clearway up` in a child process; its state (url, pids, broker) once it is up."""
    with ExitStack() as stack:
        env = dict(os.environ)
        if database == "postgresql":
            from tests.support import postgres_database

            for service in ("CUSTOMS", "RISK", "GATEWAY"):
                env[f"{service}_DATABASE_URL"] = stack.enter_context(postgres_database())
        port = free_port()
        command = [sys.executable, "-m", "clearway.cli", "--data-dir", str(data_dir), "up"]
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Clearway is up") or process.poll() is not None:
                break
        if not any(line.startswith("Clearway is up") for line in lines):
            process.kill()
            raise SystemExit("clearway up failed:\n" + "".join(lines))
        try:
            state = json.loads((data_dir / "clearway.json").read_text())
            state["databases"] = {
                name: env.get(f"{name.upper()}_DATABASE_URL")
                or database_url(name, f"{name.upper()}_", data_dir)
                for name in ("customs", "risk", "gateway")
            }
            state["customs_database"] = state["databases"]["customs"]
            yield state
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)


def _one_value(url: str, sql: str) -> Any:
    """The single value a query answers, on a connection opened for it."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def vacuum_note(url: str) -> str:
    """What the run's figures owe to PostgreSQL's autovacuum: without it (a server set up for
    tests may turn it off) the dead rows of updated and deleted rows and the planner's
    statistics are never cleaned up during the run, and a run of minutes slows down."""
    if make_url(url).get_backend_name() != "postgresql":
        return ""
    if _one_value(url, "SHOW autovacuum") == "on":
        return " (autovacuum on)"
    return (
        " (autovacuum OFF on this server: dead rows and planner statistics are not cleaned up"
        " during the run, which slows down over minutes; a deployment keeps it on: see"
        " --vacuum-every)"
    )


@contextmanager
def vacuuming(urls: Sequence[str], every_s: float | None) -> Iterator[list[float]]:
    """With `every_s`, `VACUUM (ANALYZE)` each PostgreSQL database every `every_s` seconds until
    the block ends, as autovacuum would on a deployment's server (for a server set up without
    it: see `vacuum_note`); yields the seconds each round took."""
    rounds: list[float] = []
    databases = [u for u in urls if u and make_url(u).get_backend_name() == "postgresql"]
    if not every_s or not databases:
        yield rounds
        return
    import psycopg

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            began = time.monotonic()
            for url in databases:
                dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("VACUUM (ANALYZE)")
            rounds.append(time.monotonic() - began)

    thread = threading.Thread(target=run, name="vacuum", daemon=True)
    thread.start()
    try:
        yield rounds
    finally:
        stop.set()
        thread.join()


def vacuumed(rounds: Sequence[float], every_s: float | None) -> str:
    """What the bench's own vacuuming did, for the report."""
    if not every_s or not rounds:
        return ""
    return (
        f"; VACUUM (ANALYZE) by the bench every {every_s:g}s: {len(rounds)} rounds, the longest"
        f" {max(rounds):.1f}s"
    )


def database_bytes(url: str) -> int:
    """How much storage a service's database takes: a SQLite file with its write-ahead log, or
    PostgreSQL's `pg_database_size`."""
    location = make_url(url)
    if location.get_backend_name() == "sqlite":
        path = Path(location.database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return int(_one_value(url, "SELECT pg_database_size(current_database())"))


def decided_in_database(url: str, order_nos: Iterable[str]) -> dict[str, tuple[float, int]]:
    """When customs' database says each of these orders' import declarations was decided
    (routed, rejected or refused: its inventory's first such receipt, Unix time) and how,
    whether or not the observer saw the decision published."""
    from customs.db import Declaration, Receipt

    declaration = Declaration.__table__  # type: ignore[attr-defined]
    receipt = Receipt.__table__  # type: ignore[attr-defined]
    final = or_(receipt.c.return_status.in_(list(FINAL)), receipt.c.return_status < 0)
    query = (
        select(declaration.c.order_no, receipt.c.created_at, receipt.c.return_status)
        .join(receipt, receipt.c.document_id == declaration.c.inventory_document_id)
        .where(declaration.c.export_invt_no == "", final)
    )
    wanted = set(order_nos)
    decided: dict[str, tuple[float, int]] = {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for order_no, at, status in conn.execute(query):
                if order_no not in wanted:
                    continue
                moment = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
                if order_no not in decided or moment < decided[order_no][0]:
                    decided[order_no] = (moment, status)
    finally:
        engine.dispose()
    return decided


def rejected_in_database(url: str, references: Iterable[str]) -> dict[str, int]:
    """The refusal (a negative receipt) customs' database holds for each of these documents,
    by receipt reference (the document id), whether or not the observer saw it published."""
    from customs.db import Receipt

    receipt = Receipt.__table__  # type: ignore[attr-defined]
    wanted = list(references)
    refused: dict[str, int] = {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = (
                    select(receipt.c.document_id, receipt.c.return_status)
                    .where(receipt.c.document_id.in_(wanted[start : start + 500]))
                    .where(receipt.c.return_status < 0)
                    .order_by(receipt.c.id)
                )
                for document_id, status in conn.execute(query):
                    refused.setdefault(document_id, status)
    finally:
        engine.dispose()
    return refused


# --- processes: CPU and memory --------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


@dataclass
class Watched:
    name: str
    pid: int
    cpu_start: float = 0.0
    rss: list[float] = field(default_factory=list)

    def sample(self) -> None:
        with suppress(OSError):
            self.rss.append(_memory_mb(self.pid)[0])


@dataclass
class ServerCpu:
    """The CPU of a PostgreSQL server on this machine: every process named `postgres` (the
    postmaster, each connection's backend, the WAL writer, the checkpointer...), looked at
    whenever memory is sampled. A process that exits between two looks counts up to its last
    one (the platform's pooled connections live through the run)."""

    start: dict[int, float] = field(default_factory=dict)
    latest: dict[int, float] = field(default_factory=dict)

    @staticmethod
    def _now() -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    if (entry / "comm").read_text().strip() == "postgres":
                        found[int(entry.name)] = _cpu_s(int(entry.name))
        return found

    def begin(self) -> None:
        self.start = self._now()
        self.latest = dict(self.start)

    def sample(self) -> None:
        self.latest.update(self._now())

    def used_s(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.latest.items())


# --- the observer: decisions as customs publishes them --------------------------------------------


_OBSERVED = (
    b"customs.clearance_changed.v1",
    b"customs.clearances_changed.v1",  # a run of risk's routes: its receipts in one event
    b"customs.document_rejected.v1",
)
# What marks the stages of a declaration on its way (the relay's send time is each record's
# timestamp): customs published it ready for risk, risk published its route.
_STAGES = {b"customs.declaration_ready.v1": "ready", b"risk.assessed.v1": "assessed"}


def observe(bootstrap: str, ready: Any, out: Any, stop: Any) -> None:
    """Read customs.events and risk.events from their current end; send (kind, key, time,
    status) for each decision and rejection (time: monotonic, when seen here), and (stage,
    order_no, wall time, None) for each stage a declaration passed (the record's timestamp)."""
    from kafka import KafkaConsumer, TopicPartition

    from schemas.topics import CUSTOMS_EVENTS, RISK_EVENTS

    collector.settle()  # as the platform's processes do: the bench's CPU is not theirs to lose
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        max_poll_records=OBSERVER_POLL_RECORDS,
        # a fetch that finds records brings up to 8 MiB of a partition, not 1: fewer fetches
        # (each costs the embedded broker a listing of the batches it stores) catch up faster
        max_partition_fetch_bytes=8 * 1024 * 1024,
        isolation_level="read_committed",
    )
    partitions = [
        TopicPartition(topic.name, p)
        for topic in (CUSTOMS_EVENTS, RISK_EVENTS)
        for p in sorted(consumer.partitions_for_topic(topic.name) or ())
    ]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)
    ready.set()
    while not stop.is_set():
        polled_at = time.monotonic()
        batch: list[tuple[str, str, float, int | None]] = []
        polled = consumer.poll(timeout_ms=50)
        for records in polled.values():
            now = time.monotonic()
            for record in records:
                event_type = dict(record.headers).get("event_type")
                stage = _STAGES.get(event_type or b"")
                if stage is not None:  # keyed by order_no: read the key, not the event
                    batch.append((stage, record.key.decode(), record.timestamp / 1000, None))
                    continue
                if event_type not in _OBSERVED:
                    continue
                payload = json.loads(record.value)["payload"]
                kind = payload["type"]
                if kind == "customs.document_rejected.v1":
                    status = payload["return_status"]
                    batch.append(("rejected", payload["document_id"], now, status))
                    continue
                for change in payload.get("changes", [payload]):
                    status = change["return_status"]
                    if status in FINAL or status < 0:
                        batch.append(("decision", change["order_no"], now, status))
                        published_at = record.timestamp / 1000
                        batch.append(("published", change["order_no"], published_at, None))
        if batch:
            out.put(batch)
        stop.wait(max(0.0, OBSERVER_PERIOD_S - (time.monotonic() - polled_at)))
    consumer.close()


# The observer reads at most 4 times a second, as the gateway's worker does: latency is taken
# from the records' timestamps, and each fetch that finds records costs the embedded broker a
# listing of every batch the topic stores (see messaging.worker.WorkerSpec). On a long run it
# falls behind (39-54 s after ten minutes at 250/s); read again at once while behind, it still
# fell 31 s behind in ten minutes at 200/s, and the broker took 44% of a core against 31% paced
# (one run each): customs' database (`decided_in_database`) says what was decided meanwhile.
OBSERVER_POLL_RECORDS = 5000
OBSERVER_PERIOD_S = 0.25


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What the sender and the observer saw."""

    last_submit: dict[str, float] = field(default_factory=dict)  # order_no -> POST start
    last_submit_wall: dict[str, float] = field(default_factory=dict)  # the same, wall clock
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> order_no -> wall
    expected: dict[str, traffic.Declaration] = field(default_factory=dict)
    decided: dict[str, tuple[float, int]] = field(default_factory=dict)
    rejected_documents: dict[str, int] = field(default_factory=dict)
    duplicate_references: dict[str, str] = field(default_factory=dict)  # reference -> order_no
    errors: list[str] = field(default_factory=list)
    refused_as_expected: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    messages: int = 0
    expecting: int = 0  # declarations submitted that must get a decision
    http_s: list[float] = field(default_factory=list)

    def plan(self, declaration: traffic.Declaration) -> None:
        """Note what customs must answer for a declaration about to be sent: its expected
        outcome, not its documents (`premade` drops them: a ten-minute run at 250/s kept 1.3 GB
        of them, and the collector's passes over them took CPU from the platform)."""
        self.expected[declaration.order_no] = declaration
        self.expecting += declaration.expected.stage != "submission"

    def absorb(self, queue: Any) -> None:
        while True:
            try:
                batch = queue.get_nowait()
            except Empty:
                return
            for kind, key, at, status in batch:
                if kind == "decision":
                    self.decided.setdefault(key, (at, status))
                elif kind == "rejected":
                    self.rejected_documents[key] = status
                else:
                    self.stages.setdefault(kind, {}).setdefault(key, at)

    def waiting(self) -> int:
        return self.expecting - len(self.decided)

    def latency(self, order_no: str) -> float:
        """From the POST of the declaration's last document to the publication of its decision
        (the record's timestamp, given by customs' relay: not when the observer read it, which
        lags behind on a saturated machine)."""
        # the observer notes a decision's publication with the decision itself
        return self.stages["published"][order_no] - self.last_submit_wall[order_no]


async def _send(
    http: Any,
    client: PlatformClient,
    semaphore: asyncio.Semaphore,
    message: traffic.Message,
    run: Run,
    keyed: bool,
) -> None:
    key = uuid.uuid4().hex if keyed else None
    async with semaphore:
        started, started_wall = time.monotonic(), time.time()
        status, body = await client.post_message(http, message, idempotency_key=key)
        run.http_s.append(time.monotonic() - started)
        answered_wall = time.time()
    run.messages += 1
    run.documents += message.documents
    problem = check_answer(message, status, body)
    if problem is not None:
        run.errors.append(problem)
        return
    if message.expected_code is not None:
        run.refused_as_expected[message.expected_code] += 1
        return
    seen: set[str] = set()
    for order_no, document in zip(message.order_nos, body["documents"], strict=True):
        if order_no in seen:  # the second copy of a duplicated order
            run.duplicate_references[document["reference"]] = order_no
        seen.add(order_no)
        run.last_submit[order_no] = max(run.last_submit.get(order_no, 0.0), started)
        if started_wall >= run.last_submit_wall.get(order_no, 0.0):
            run.last_submit_wall[order_no] = started_wall
            run.stages.setdefault("answered", {})[order_no] = answered_wall


# room for more than the 1,417/s: the closed loop's traffic is made before the clock
CLOSED_LOOP_ROOM = 1500  # declarations/s


@dataclass
class Batch:
    """Declarations due together and their messages, made before the clock starts."""

    declarations: list[traffic.Declaration]  # without their documents (see Run.plan)
    messages: list[traffic.Message]


def premade(args: argparse.Namespace, identities: dict[str, traffic.Identity]) -> deque[Batch]:
    """The run's traffic, generated, written as CEB messages and signed before the clock starts,
    as the integrators' own machines would have made it: made during the run, on the platform's
    cores, it took 0.24-0.83 ms of CPU a declaration from the platform (by the hour). With a rate,
    a batch per `--tick`; in closed loop, batches of a quarter of `--in-flight`, for up to
    CLOSED_LOOP_ROOM declarations/s."""
    if args.rate:
        ticks = math.ceil(args.seconds / args.tick)
        sizes = [
            int(args.rate * args.tick * (t + 1)) - int(args.rate * args.tick * t)
            for t in range(ticks)
        ]
    else:
        size = max(1, args.in_flight // 4)
        sizes = [size] * math.ceil(CLOSED_LOOP_ROOM * args.seconds / size)
    generated = traffic.generate(
        sum(sizes), args.seed, bad_share=args.bad_share, risky_share=args.risky_share
    )
    batches: deque[Batch] = deque()
    for size in sizes:
        chunk = list(islice(generated, size))
        messages = list(traffic.messages(chunk, identities))
        batches.append(Batch([replace(d, documents=()) for d in chunk], messages))
    return batches


async def _at(moment: float, coroutine: Awaitable[None]) -> None:
    """Await `coroutine` from `moment` (monotonic) on."""
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    await coroutine


async def load(
    args: argparse.Namespace,
    client: PlatformClient,
    batches: deque[Batch],
    run: Run,
    decisions: Any,
) -> tuple[float, float]:
    """Submit the batches for `args.seconds`, each at its tick (or, in closed loop, when
    `--in-flight` has room for it); the (start, end) of the submission phase."""
    semaphore = asyncio.Semaphore(args.clients)
    started = time.monotonic()
    tick = 0
    pending: set[asyncio.Future[None]] = set()
    report_at = started + 5
    async with client.async_client(args.clients) as http:
        while batches and time.monotonic() - started < args.seconds:
            run.absorb(decisions)
            if time.monotonic() >= report_at:
                report_at += 5
                print(
                    f"  t={time.monotonic() - started:4.0f}s submitted {len(run.last_submit)} "
                    f"decided {len(run.decided)} waiting {run.waiting()} errors {len(run.errors)}",
                    flush=True,
                )
            if args.rate:
                delay = started + args.tick * tick - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif args.in_flight - run.waiting() < len(batches[0].declarations):
                await asyncio.sleep(0.005)
                continue
            tick_start = started + args.tick * tick
            tick += 1
            batch = batches.popleft()  # let go of the bodies once sent
            for declaration in batch.declarations:
                run.plan(declaration)
            sends = [
                _send(http, client, semaphore, message, run, args.idempotency_keys)
                for message in batch.messages
            ]
            if args.rate:
                step = args.tick / len(sends) if args.spread and sends else 0.0
                for n, coroutine in enumerate(sends):
                    task = asyncio.ensure_future(_at(tick_start + n * step, coroutine))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.sleep(0)
            else:
                await asyncio.gather(*sends)
        if pending:  # what was due is sent even when the gateway answers slower than offered
            await asyncio.gather(*pending)
        ended = time.monotonic()
    return started, ended


# --- the floor ------------------------------------------------------------------------------------


def floor(identities: dict[str, traffic.Identity], seconds: float) -> float:
    """Declarations per second through parse + XSD + field rules + signature, one core."""
    from customs.ceb.documents import extract, kind_of
    from customs.ceb.parsing import parse_untrusted
    from customs.ceb.schema import validate_against_xsd, warm_up
    from customs.ceb.signature import ALL_ALGORITHMS, verify_enveloped
    from customs.validation import check_formats

    warm_up()
    declarations = list(traffic.generate(2000, seed=99))
    messages = list(traffic.messages(declarations, identities))
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for message in messages:
            root = parse_untrusted(message.body)
            message_type = validate_against_xsd(root)
            check_formats(extract(root, kind_of(message_type, root)))
            if message_type == "CEB621Message":
                verify_enveloped(root, allowed_algorithms=ALL_ALGORITHMS)
        done += len(declarations)
    return done / (time.perf_counter() - started)


def published(bootstrap: str) -> int:
    """How many events the platform's topics hold (their end offsets, all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    from schemas.topics import TOPICS

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    try:
        partitions = [
            TopicPartition(t.name, p)
            for t in TOPICS
            for p in sorted(consumer.partitions_for_topic(t.name) or ())
        ]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def producer_rate(bootstrap: str, seconds: float) -> float:
    """Events/s the project's producer gets acknowledged by the platform's broker."""
    from messaging.admin import ensure_topics
    from messaging.producer import build_producer
    from messaging.settings import KafkaSettings
    from schemas.topics import Topic
    from tests.messaging.harness import received

    settings = KafkaSettings.embedded(bootstrap)
    topic = Topic("bench.raw", 12, "bench", ())
    ensure_topics(settings, (topic,))
    producer = build_producer(settings, client_id="bench")
    values = [received(key=f"o{n % 97}").model_dump_json().encode() for n in range(2000)]
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for n, value in enumerate(values):
            producer.send(topic.name, key=str(n % 97).encode(), value=value)
        producer.flush()
        count += len(values)
    elapsed = time.perf_counter() - started
    producer.close()
    return count / elapsed


# --- report ---------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _check_outcomes(
    run: Run,
    in_database: dict[str, tuple[float, int]] | None = None,
    refused_in_database: dict[str, int] | None = None,
) -> tuple[list[float], Counter[str]]:
    """The observed latencies and the routes; every wrong or missing decision goes to
    run.errors (a decision or a duplicate's refusal the observer did not see is checked in
    customs' database, when read: `decided_in_database`, `rejected_in_database`)."""
    latencies: list[float] = []
    routes: Counter[str] = Counter()
    for order_no in run.last_submit:
        declaration = run.expected[order_no]
        expected = declaration.expected
        decided = run.decided.get(order_no) or (in_database or {}).get(order_no)
        if expected.stage == "submission":
            continue  # refused already, checked at the POST; the others never complete
        if decided is None:
            run.errors.append(f"{order_no}: no decision ({declaration.bad or 'good'})")
            continue
        _, status = decided
        routes[FINAL.get(status, str(status))] += 1
        if expected.stage == "declaration" and str(status) != expected.code:
            run.errors.append(f"{order_no}: expected {expected.code}, got {status}")
        elif expected.stage != "declaration" and status not in (800, 300, 500):
            run.errors.append(f"{order_no}: expected a route, got {status}")
        if order_no in run.decided:
            latencies.append(run.latency(order_no))
    for reference, order_no in run.duplicate_references.items():
        rejected = run.rejected_documents.get(reference)
        if rejected is None:
            rejected = (refused_in_database or {}).get(reference)
        if rejected is None:
            run.errors.append(f"{order_no}: the duplicate order got no receipt")
        elif rejected != -301010:
            run.errors.append(f"{order_no}: the duplicate order got {rejected}, not -301010")
        else:
            run.refused_as_expected["-301010"] += 1
    return latencies, routes


_LEGS = (
    ("submitted", "answered", "POST of the last document, until answered (HTTP)"),
    ("answered", "ready", "-> DeclarationReady published (the API's outbox relayed)"),
    ("ready", "assessed", "-> RiskAssessed published (risk's fetch, scoring, relay)"),
    ("assessed", "published", "-> decision published (customs worker's fetch, route, relay)"),
    ("published", "observed", "(seen by the bench's observer: its lag, not in the latency)"),
)


def stage_latencies(run: Run, wall_minus_monotonic: float) -> list[str]:
    """p50/p99 of each leg of a declaration's way to its decision, from the time each stage's
    event was published (its record's timestamp, the relay's clock: same machine)."""
    at = {
        "submitted": run.last_submit_wall,
        **run.stages,
        "observed": {k: t + wall_minus_monotonic for k, (t, _) in run.decided.items()},
    }
    lines = []
    for start, end, label in _LEGS:
        legs = [
            at[end][k] - at[start][k]
            for k in at.get(end, {})
            if k in at.get(start, {}) and k in run.decided and run.decided[k][1] in (800, 300, 500)
        ]
        if legs:
            lines.append(
                f"  {label}: p50 {1000 * _percentile(legs, 0.5):.0f} ms, "
                f"p99 {1000 * _percentile(legs, 0.99):.0f} ms"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=300, help="declarations/s offered")
    parser.add_argument("--closed-loop", action="store_true", help="keep --in-flight waiting")
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--vacuum-every",
        type=float,
        help="PostgreSQL: VACUUM (ANALYZE) the databases every this many seconds, as autovacuum "
        "would (for a server without it)",
    )
    parser.add_argument("--url", help="a running platform's gateway (default: start one)")
    parser.add_argument("--bootstrap", help="its broker, with --url (for the observer)")
    parser.add_argument(
        "--admin-key", help="with --url: the administrator's key (default $GATEWAY_ADMIN_API_KEY)"
    )
    parser.add_argument("--api-key", default=os.environ.get("CLEARWAY_API_KEY"))
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP requests")
    parser.add_argument(
        "--idempotency-keys", action="store_true", help="an Idempotency-Key on every message"
    )
    parser.add_argument("--tick", type=float, default=0.25, help="seconds of traffic per batch")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="send a tick's messages evenly over the tick, not all at its start",
    )
    parser.add_argument("--bad-share", type=float, default=0.01)
    parser.add_argument("--risky-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for stragglers")
    parser.add_argument("--floor-seconds", type=float, default=5)
    args = parser.parse_args()
    if args.closed_loop:
        args.rate = 0
    load_before = os.getloadavg()
    identities = traffic.make_identities()

    with ExitStack() as stack:
        if args.url:
            if not args.bootstrap:
                raise SystemExit("--url needs --bootstrap (the broker) for the observer")
            state: dict[str, Any] = {"url": args.url, "bootstrap_servers": args.bootstrap}
            state["processes"] = []
        else:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-e2e-")))
            state = stack.enter_context(platform(args.database, data))
        vacuum = vacuum_note(state["customs_database"]) if state.get("customs_database") else ""
        client = PlatformClient(state["url"], api_key=args.api_key)
        key = args.admin_key or admin_key(state.get("data_dir", "data"))
        if key:  # one tenant, and key, per enterprise of the traffic
            client.enrol(key, enterprises())
        client.register_certificates(identities)

        print(
            f"floor: parse + XSD + field rules + signature, one core, {args.floor_seconds:g}s",
            flush=True,
        )
        floor_rate = floor(identities, args.floor_seconds)
        raw_rate = producer_rate(state["bootstrap_servers"], args.floor_seconds)

        made_cpu, made_wall = time.process_time(), time.monotonic()
        batches = premade(args, identities)
        planned = sum(len(b.declarations) for b in batches)
        print(
            f"traffic: {planned} declarations in {sum(len(b.messages) for b in batches)} "
            f"messages, made before the clock in {time.monotonic() - made_wall:.1f}s "
            f"({(time.process_time() - made_cpu) * 1000 / max(planned, 1):.2f} ms of CPU each)",
            flush=True,
        )

        watched = [Watched(p["name"], p["pid"]) for p in state["processes"] if p["pid"]]
        if state.get("broker_pid"):
            watched.append(Watched("broker", state["broker_pid"]))
        ctx = mp.get_context("spawn")
        ready, stop, decisions = ctx.Event(), ctx.Event(), ctx.Queue()
        observer = ctx.Process(
            target=observe, args=(state["bootstrap_servers"], ready, decisions, stop), daemon=True
        )
        observer.start()
        if not ready.wait(60):
            raise SystemExit("the observer did not start")
        print(f"load: {'closed loop' if args.closed_loop else args.rate}", flush=True)
        watched.append(Watched("bench observer", observer.pid or 0))
        watched.append(Watched("bench load generator", os.getpid()))
        server = ServerCpu() if args.database == "postgresql" and not args.url else None
        for w in watched:
            w.cpu_start = _cpu_s(w.pid)
            w.sample()
        if server is not None:
            server.begin()
        events_before = published(state["bootstrap_servers"])
        collector.settle()
        run = Run()
        sampling = True

        async def sample_memory() -> None:
            while sampling:
                for w in watched:
                    w.sample()
                if server is not None:
                    server.sample()
                await asyncio.sleep(args.seconds / 10)

        async def both() -> tuple[float, float]:
            sampler = asyncio.ensure_future(sample_memory())
            result = await load(args, client, batches, run, decisions)
            sampler.cancel()
            return result

        vacuum_rounds = stack.enter_context(
            vacuuming(list(state.get("databases", {}).values()), args.vacuum_every)
        )
        started, ended = asyncio.run(both())
        sampling = False
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            run.absorb(decisions)
            if not run.waiting():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        run.absorb(decisions)
        finished = time.monotonic()
        cpu = {w.name: _cpu_s(w.pid) - w.cpu_start for w in watched}
        for w in watched:
            w.sample()
        if server is not None:
            server.sample()
        events = published(state["bootstrap_servers"]) - events_before
        to_decide = [
            order_no
            for order_no in run.last_submit
            if run.expected[order_no].expected.stage != "submission"
        ]
        in_database = (
            decided_in_database(state["customs_database"], to_decide)
            if state.get("customs_database")
            else None
        )
        unseen = [r for r in run.duplicate_references if r not in run.rejected_documents]
        refused_in_database = (
            rejected_in_database(state["customs_database"], unseen)
            if state.get("customs_database") and unseen
            else None
        )
        stored = {name: database_bytes(url) for name, url in state.get("databases", {}).items()}
        stop.set()
        while observer.is_alive():  # its queue must be drained for it to exit
            run.absorb(decisions)
            observer.join(0.1)

    latencies, routes = _check_outcomes(run, in_database, refused_in_database)
    decided_times = [at for at, _ in run.decided.values()]
    submitted = len(run.last_submit)
    wall = (max(decided_times) if decided_times else finished) - started
    print()
    print(
        f"machine: {os.cpu_count()} cores, {interpreter()}, load average before "
        f"{load_before[0]:.2f} "
        f"{load_before[1]:.2f} {load_before[2]:.2f}, after {os.getloadavg()[0]:.2f}; "
        f"database {args.database}{vacuum}{vacuumed(vacuum_rounds, args.vacuum_every)}; "
        f"seed {args.seed}"
    )
    mode = "closed loop" if args.closed_loop else f"offered {args.rate:g} declarations/s"
    if args.spread and not args.closed_loop:
        mode += f" (each {args.tick:g}s tick's messages spread over it)"
    print(
        f"{mode} for {args.seconds:g}s (sending took {ended - started:.1f}s), {args.clients} "
        f"clients: {submitted} declarations, "
        f"{run.documents} documents in {run.messages} messages "
        f"(HTTP p50 {_percentile(run.http_s, 0.5) * 1000:.0f} ms, "
        f"p99 {_percentile(run.http_s, 0.99) * 1000:.0f} ms)"
    )
    sustained = len(latencies) / wall if wall > 0 else 0.0
    print(
        f"sustained: {sustained:,.0f} declarations/s decided ({len(latencies)} decisions, from "
        f"the first submission to the last decision: {wall:.1f}s); submitted "
        f"{submitted / (ended - started):,.0f}/s"
    )
    print(
        "decision latency: p50 {:.0f} ms, p95 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms".format(
            *(1000 * _percentile(latencies, q) for q in (0.5, 0.95, 0.99, 1.0))
        )
    )
    by_tenth: dict[int, list[float]] = {}
    span = (ended - started) / 10
    for order_no, submitted_at in run.last_submit.items():
        if order_no in run.decided:
            tenth = min(9, int((submitted_at - started) / span))
            by_tenth.setdefault(tenth, []).append(run.latency(order_no))
    legs = stage_latencies(run, time.time() - time.monotonic())
    if legs:
        print("latency by stage (routed declarations):")
        print("\n".join(legs))
    print(
        "p99 by tenth of the run (ms): "
        + " ".join(f"{1000 * _percentile(by_tenth.get(t, []), 0.99):.0f}" for t in range(10))
    )
    print("routes: " + ", ".join(f"{k} {v}" for k, v in sorted(routes.items())))
    print(
        "refused as expected: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(run.refused_as_expected.items())) or "-")
    )
    if in_database is not None:
        started_wall = started + time.time() - time.monotonic()
        last = max((at for at, _ in in_database.values()), default=started_wall)
        print(
            f"customs' database: {len(in_database)} of the {len(to_decide)} declarations to "
            f"decide are decided (the observer saw {sum(k in run.decided for k in to_decide)}): "
            f"{len(in_database) / max(last - started_wall, 1e-9):,.0f}/s from the first "
            "submission to the last decision's commit"
        )
        committed: dict[int, list[float]] = {}
        for order_no, (decided_at, _) in in_database.items():
            tenth = min(9, int((run.last_submit[order_no] - started) / span))
            committed.setdefault(tenth, []).append(decided_at - run.last_submit_wall[order_no])
        everyone = [latency for tenth in committed.values() for latency in tenth]
        print(
            "  from the POST of the last document to the decision's commit there (every one): "
            + ", ".join(
                f"{name} {1000 * _percentile(everyone, q):.0f} ms"
                for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
            )
        )
        print(
            "  p99 by tenth of the run (ms): "
            + " ".join(f"{1000 * _percentile(committed.get(t, []), 0.99):.0f}" for t in range(10))
        )
    # per declaration decided: as customs' database counts them when read (the observer may
    # have missed some on a long run), else as the observer saw them
    decided_count = max(1, len(in_database) if in_database is not None else len(latencies))
    print(f"errors: {len(run.errors)}")
    for error in run.errors[:10]:
        print(f"  {error}")
    print(
        f"{'process':<22}{'CPU % of a core':>16}{'CPU ms/decl.':>13}"
        f"{'RSS start':>11}{'RSS end':>9}{'peak':>8}  MB"
    )
    for w in watched:
        peak = max(w.rss) if w.rss else 0.0
        start_rss, end_rss = (w.rss[0], w.rss[-1]) if w.rss else (0.0, 0.0)
        print(
            f"{w.name:<22}{100 * cpu[w.name] / (finished - started):>16.0f}"
            f"{1000 * cpu[w.name] / decided_count:>13.2f}"
            f"{start_rss:>11.0f}{end_rss:>9.0f}{peak:>8.0f}"
        )
    if server is not None:
        used = server.used_s()
        print(
            f"{'postgresql (server)':<22}{100 * used / (finished - started):>16.0f}"
            f"{1000 * used / decided_count:>13.2f}  (every postgres process of this machine)"
        )
    if stored:
        print(
            "storage at the end (the database with its write-ahead log): "
            + ", ".join(
                f"{name} {size / 2**20:,.1f} MB ({size / 1024 / decided_count:,.1f} KB/decl.)"
                for name, size in stored.items()
            )
        )
    per_declaration = events / decided_count
    print(
        f"floor (parse + XSD + field rules + signature): {floor_rate:,.0f} declarations/s on one "
        f"core; end-to-end is {sustained / floor_rate:.2f} of it "
        f"({sustained / (2 * floor_rate):.2f} of two cores)"
    )
    print(
        f"raw producer (acks=all, idempotent) to the platform's broker: {raw_rate:,.0f} events/s;"
        f" end-to-end published {per_declaration:.1f} events per declaration decided: "
        f"{per_declaration * sustained / raw_rate:.2f} of it"
    )


if __name__ == "__main__":
    main()
