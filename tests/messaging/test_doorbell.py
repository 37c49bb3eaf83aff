"""A relay is rung awake when another process commits outbox rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, insert

from clearway.database import make_engine
from messaging import doorbell
from messaging import worker as worker_module
from messaging.outbox import OUTBOX_CHANNEL, OutboxRelay, stage
from messaging.worker import Worker, WorkerSpec
from schemas.topics import CUSTOMS_INBOUND
from tests.messaging.harness import make_database, received
from tests.messaging.harness import runtime as harness_runtime
from tests.support import postgres_database, read_topic

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


def _relayed_at_once(
    broker: Any, engine: Engine, monkeypatch: Any, commit: Callable[[], None]
) -> None:
    """A worker whose relay would poll once a minute publishes the 3 rows `commit` commits
    (outside this worker) at once: its doorbell was rung."""
    monkeypatch.setattr(worker_module, "OutboxRelay", partial(OutboxRelay, idle_sleep_s=60))
    spec = WorkerSpec(service="bell", engine=engine, tables=harness_runtime, topics=(), handlers={})
    worker = Worker(spec, broker.settings)
    worker.start()
    try:
        time.sleep(1.0)  # the relay found the outbox empty and waits a minute
        started = time.monotonic()
        commit()
        records = read_topic(broker.settings, CUSTOMS_INBOUND.name, 3)
        assert len(records) == 3
        assert time.monotonic() - started < 20
        assert worker.relay.published == 3
    finally:
        worker.stop.set()
        worker.relay.wake()  # out of its minute's wait
        worker.join()


def test_the_worker_relays_rows_another_process_commits_without_waiting_for_its_poll(
    broker, database, monkeypatch
):
    path, engine = database
    _relayed_at_once(
        broker,
        engine,
        monkeypatch,
        lambda: subprocess.run(
            [sys.executable, "-c", _STAGE_IN_ANOTHER_PROCESS, path], cwd=ROOT, check=True
        ),
    )


# --- PostgreSQL: NOTIFY with the staged rows, a LISTENing session in the relay's worker --------


@pytest.fixture
def postgres() -> Iterator[Engine]:
    with postgres_database() as url:
        engine = make_database(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _notified(listener: psycopg.Connection[Any], within_s: float) -> int:
    return sum(1 for _ in listener.notifies(timeout=within_s))


def test_a_postgres_transaction_that_staged_events_notifies_listeners_when_it_commits(postgres):
    url = postgres.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        with postgres.connect() as conn:
            stage(conn, harness_runtime, [received(), received()])
            assert _notified(listener, 0.3) == 0  # not before the commit
            conn.commit()
        assert _notified(listener, 2.0) == 1  # one per transaction

        with pytest.raises(RuntimeError), postgres.begin() as conn:
            stage(conn, harness_runtime, [received()])
            raise RuntimeError("rolled back")
        _stage(postgres, 0)  # a transaction that staged nothing
        assert _notified(listener, 0.3) == 0


def test_the_postgres_doorbell_listens_again_after_its_session_was_lost(postgres):
    woken = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(
        target=doorbell.answer_postgres, args=(postgres, woken.set, stop), kwargs={"retry_s": 0.1}
    )
    thread.start()
    try:
        assert woken.wait(5)  # on listening: whatever was committed before
        woken.clear()
        _stage(postgres, 1)
        assert woken.wait(5)
        with postgres.begin() as conn:  # the server drops the doorbell's session
            killed = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE query = 'LISTEN {OUTBOX_CHANNEL}' AND datname = current_database()"
            ).all()
        assert killed == [(True,)]
        time.sleep(1.0)  # it opened another session and LISTENs again
        woken.clear()
        _stage(postgres, 1)
        assert woken.wait(5)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_the_worker_relays_rows_another_session_commits_to_postgres_without_its_poll(
    broker, postgres, monkeypatch
):
    def commit_elsewhere() -> None:  # another engine: nothing in this process wakes the relay
        other = make_engine(postgres.url.render_as_string(hide_password=False))
        _stage(other, 3)
        other.dispose()

    _relayed_at_once(broker, postgres, monkeypatch, commit_elsewhere)
