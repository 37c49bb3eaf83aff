"""Runs a service worker: its consumer loop, its outbox relay and a small health endpoint."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Engine

from messaging import doorbell
from messaging.consumer import ConsumerLoop, HandlerTable
from messaging.outbox import MAX_IDLE_SLEEP_S, OutboxRelay
from messaging.producer import broker_reachable, build_producer
from messaging.settings import KafkaSettings
from messaging.tables import RuntimeTables
from schemas.topics import Topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSpec:
    """What a service plugs into the shared worker: its name, tables, topics and handlers."""

    service: str
    engine: Engine
    tables: RuntimeTables
    topics: Sequence[Topic]
    handlers: HandlerTable
    health_port: int = 0
    # Other loops the worker runs beside its consumer (name, loop taking the stop event).
    loops: Sequence[tuple[str, Callable[[threading.Event], None]]] = ()
    # A consumer off the decision path may wait longer for each fetch than KafkaSettings says:
    # polling an idle broker every 20 ms costs a tenth of a core with kafka-python.
    fetch_max_wait_ms: int | None = None
    # ... and read at most once per interval. A fetch that finds records is answered at once,
    # whatever its wait, and the embedded broker (tansu 0.6, memory storage) lists every record
    # batch the partition stores to answer it: 0.7 µs per stored batch, 14 ms per fetch with
    # 20,000 stored, so each consumer reading at the pace of the producers costs it more and
    # more over a long run (measured: one tailing consumer, 20,000 batches stored, 70 new
    # batches/s: 83% of a core unpaced, 38% read every 0.25 s).
    poll_interval_s: float = 0.0
    # How long the relay may sleep while its outbox stays empty. Rows committed by this worker's
    # consumer wake it at once, and so do another process's (`doorbell`); the short default is
    # for rows another process (an API) commits while the doorbell cannot be had.
    relay_max_idle_s: float = MAX_IDLE_SLEEP_S


def worker_producer(settings: KafkaSettings, *, client_id: str = "worker") -> KafkaProducer:
    """A producer for the relay and the DLQ, refused at once while no broker is reachable."""
    if not broker_reachable(settings):
        raise ConnectionError(f"no broker reachable at {settings.bootstrap_servers}")
    return build_producer(settings, client_id=client_id)


class Worker:
    """The consumer loop and outbox relay of one service, in threads of one process."""

    def __init__(
        self,
        spec: WorkerSpec,
        settings: KafkaSettings,
        on_db_commit: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.stop = threading.Event()

        def producer() -> KafkaProducer:
            return worker_producer(settings, client_id=f"{spec.service}-worker")

        self.relay = OutboxRelay(
            engine=spec.engine,
            tables=spec.tables,
            producer_factory=producer,
            max_idle_sleep_s=spec.relay_max_idle_s,
        )
        self.consumer: ConsumerLoop | None = None

        def committed() -> None:
            self.relay.wake()  # the batch staged events: publish them without waiting
            if on_db_commit is not None:
                on_db_commit()

        if spec.handlers:
            if spec.fetch_max_wait_ms is not None:
                settings = settings.model_copy(update={"fetch_max_wait_ms": spec.fetch_max_wait_ms})
            self.consumer = ConsumerLoop(
                service=spec.service,
                group_id=spec.service,
                topics=spec.topics,
                handlers=spec.handlers,
                engine=spec.engine,
                tables=spec.tables,
                settings=settings,
                producer_factory=producer,
                on_db_commit=committed,
                poll_interval_s=spec.poll_interval_s,
            )
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None
        self.health_server: ThreadingHTTPServer | None = None

    def health(self) -> dict[str, Any]:
        """Whether the worker is consuming, with its counters."""
        ready = self.consumer is None or self.consumer.assigned.is_set()
        alive = all(t.is_alive() for t in self._threads)
        body: dict[str, Any] = {
            "service": f"{self.spec.service}-worker",
            "status": "ok" if ready and alive else ("starting" if alive else "failed"),
            "relay": {
                "published": self.relay.published,
                "failures": self.relay.failures,
                "last_error": self.relay.last_error,
                "clean_deferred": self.relay.clean_deferred,
            },
        }
        if self.consumer is not None:
            body["consumer"] = self.consumer.stats.as_dict()
        return body

    def start(self) -> None:
        """Start the relay, the consumer and the health endpoint in background threads."""
        self._spawn("relay", self.relay.run)
        # rows another process (the service's API) commits ring the relay awake
        bell = doorbell.answerer(self.spec.engine, self.relay.wake)
        if bell is not None:
            self._spawn("doorbell", bell)
        if self.consumer is not None:
            self._spawn("consumer", self.consumer.run)
        for name, loop in self.spec.loops:
            self._spawn(name, loop)
        if self.spec.health_port:
            self.health_server = _health_server(self.spec.health_port, self.health)
            threading.Thread(
                target=self.health_server.serve_forever, name="health", daemon=True
            ).start()

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        def guarded() -> None:
            try:
                target(self.stop)
            except BaseException as exc:
                log.exception("%s thread of %s failed", name, self.spec.service)
                self._failure = exc
                self.stop.set()

        thread = threading.Thread(target=guarded, name=f"{self.spec.service}-{name}")
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        """Wait for the threads to finish after `stop` is set."""
        for thread in self._threads:
            thread.join()
        if self.health_server is not None:
            self.health_server.shutdown()

    @property
    def failed(self) -> bool:
        return self._failure is not None


def _health_server(port: int, health: Callable[[], dict[str, Any]]) -> ThreadingHTTPServer:
    class HealthHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/health":
                self.send_error(404)
                return
            body = health()
            data = json.dumps(body).encode()
            self.send_response(200 if body["status"] == "ok" else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), HealthHandler)


class StopFlag:
    """A stop request set from a signal handler: a plain attribute, taken with no lock.

    A handler runs in the main thread between two of its bytecodes. Had it set a
    threading.Event that the main thread waits on, a signal landing just as that wait takes
    the Event's lock back would make the handler wait for a lock its own thread holds, for
    ever (seen: `clearway up` hung on SIGTERM). `wait` sleeps in short steps instead.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the flag (looking every 0.1 s); whether it is set."""
        deadline = time.monotonic() + timeout_s
        while not self._set:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.1))
        return self._set


def run_forever(spec: WorkerSpec) -> int:
    """`python -m <service>.worker`: run until SIGTERM/SIGINT; exit 1 if a thread failed."""
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s {spec.service}-worker %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    worker = Worker(spec, KafkaSettings())

    signalled = StopFlag()

    def request_stop(_signum: int, _frame: object) -> None:
        signalled.set()  # nothing else here: see StopFlag

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker.start()
    while not worker.stop.is_set() and not signalled.wait(0.5):
        pass
    if signalled.is_set():
        log.info("signalled: stopping")
    worker.stop.set()
    worker.join()
    return 1 if worker.failed else 0
