"""A relay on a SQLite file is rung awake when another process commits outbox rows."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from messaging import doorbell
from messaging import worker as worker_module
from messaging.outbox import OutboxRelay, stage
from messaging.worker import Worker, WorkerSpec
from schemas.topics import CUSTOMS_INBOUND
from tests.messaging.harness import make_database, received
from tests.messaging.harness import runtime as harness_runtime
from tests.support import read_topic

ROOT = Path(__file__).resolve().parents[2]


def _rung(bell: socket.socket, within_s: float) -> bool:
    bell.settimeout(within_s)
    try:
        bell.recv(64)
    except TimeoutError:
        return False
    return True


def _stage(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        stage(conn, harness_runtime, [received(key=f"order-{uuid.uuid4()}") for _ in range(count)])


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, Engine]:
    path = str(tmp_path / "service.db")
    return path, make_database(f"sqlite:///{path}")


def test_a_commit_that_inserted_outbox_rows_rings_once_committed(database):
    path, engine = database
    bell = doorbell.listen(path)
    assert bell is not None
    try:
        _stage(engine, 2)
        assert _rung(bell, 2.0)
        assert not _rung(bell, 0.2)  # one ring per commit

        with pytest.raises(RuntimeError), engine.begin() as conn:
            stage(conn, harness_runtime, [received()])
            raise RuntimeError("rolled back")
        assert not _rung(bell, 0.3)  # nothing was committed

        with engine.begin() as conn:  # a commit that staged no event
            conn.execute(
                insert(harness_runtime.inbox).values(
                    consumer_group="g",
                    event_id=str(uuid.uuid4()),
                    event_type="t",
                    processed_at=received().occurred_at,
                )
            )
        assert not _rung(bell, 0.3)
    finally:
        bell.close()


def test_one_relay_listens_per_database_file(database, tmp_path):
    path, _ = database
    first = doorbell.listen(path)
    assert first is not None
    try:
        assert doorbell.listen(path) is None  # a second relay on the file polls
        other = doorbell.listen(str(tmp_path / "other.db"))
        assert other is not None
        other.close()
    finally:
        first.close()
    again = doorbell.listen(path)  # free again once the first is closed
    assert again is not None
    again.close()


_STAGE_IN_ANOTHER_PROCESS = """
import sys, uuid
from messaging.outbox import stage
from tests.messaging.harness import make_database, received, runtime
engine = make_database("sqlite:///" + sys.argv[1])
with engine.begin() as conn:
    stage(conn, runtime, [received(key=f"order-{uuid.uuid4()}") for _ in range(3)])
"""


def test_the_worker_relays_rows_another_process_commits_without_waiting_for_its_poll(
    broker, database, monkeypatch
):
    path, engine = database
    # polling alone would find the rows a minute after the relay found the outbox empty
    monkeypatch.setattr(worker_module, "OutboxRelay", partial(OutboxRelay, idle_sleep_s=60))
    spec = WorkerSpec(service="bell", engine=engine, tables=harness_runtime, topics=(), handlers={})
    worker = Worker(spec, broker.settings)
    worker.start()
    try:
        time.sleep(0.5)  # the relay found the outbox empty and waits
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", _STAGE_IN_ANOTHER_PROCESS, path], cwd=ROOT, check=True
        )
        records = read_topic(broker.settings, CUSTOMS_INBOUND.name, 3)
        assert len(records) == 3
        assert time.monotonic() - started < 20
        assert worker.relay.published == 3
    finally:
        worker.stop.set()
        worker.relay.wake()  # out of its minute's wait
        worker.join()
