"""What every service engine gets (`clearway.database.make_engine`): SQLite's settings, and on
PostgreSQL pooled connections checked without a round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert

from clearway.database import WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT_BYTES, make_engine
from tests.support import postgres_database

metadata = MetaData()
page = Table(
    "page",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(4000), nullable=False),
)


def test_every_connection_gets_the_write_ahead_log_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'settings.db'}")
    try:
        with engine.connect() as conn:
            read = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in ("journal_mode", "synchronous", "wal_autocheckpoint")
            }
            read["journal_size_limit"] = conn.exec_driver_sql(
                "PRAGMA journal_size_limit"
            ).scalar_one()
    finally:
        engine.dispose()
    assert read == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: the log is synced at each checkpoint
        "wal_autocheckpoint": WAL_CHECKPOINT_PAGES,
        "journal_size_limit": WAL_SIZE_LIMIT_BYTES,
    }
    assert WAL_CHECKPOINT_PAGES > 1000  # more than SQLite's default: fewer, larger checkpoints


def test_the_log_is_copied_back_only_past_its_checkpoint_size(tmp_path: Path) -> None:
    """Commits past SQLite's default 1,000 pages stay in the log; past WAL_CHECKPOINT_PAGES
    the committing writer copies it back and starts the log over."""
    path = tmp_path / "log.db"
    engine = make_engine(f"sqlite:///{path}")
    wal = Path(f"{path}-wal")
    try:
        metadata.create_all(engine)
        row = {"text": "x" * 3900}  # about a page each
        with engine.begin() as conn:
            page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
        for _ in range(30):  # ~1,500 pages, 50 at a time
            with engine.begin() as conn:
                conn.execute(insert(page), [row] * 50)
        frames = (wal.stat().st_size - 32) // (page_size + 24)
        assert frames > 1_500  # nothing was checkpointed yet
        for _ in range(WAL_CHECKPOINT_PAGES // 50):
            with engine.begin() as conn:
                conn.execute(insert(page), [row] * 50)
        with engine.begin() as conn:  # the first commit after a checkpoint restarts the log
            conn.execute(insert(page), [row])
        with engine.connect() as conn:
            busy, in_log, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        assert busy == 0
        assert in_log < WAL_CHECKPOINT_PAGES  # copied back once past the size, then begun again
        assert copied == in_log
    finally:
        engine.dispose()


@pytest.fixture
def postgres() -> Iterator[tuple[Engine, str]]:
    with postgres_database() as url:
        engine = make_engine(url)
        yield engine, url
        engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_pooled_postgres_connection_is_used_again_without_a_ping(
    postgres: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = postgres

    def no_ping(_dbapi_connection: object) -> bool:
        raise AssertionError("a round trip before the transaction's own statements")

    monkeypatch.setattr(engine.dialect, "do_ping", no_ping)
    first = _backend(engine)
    assert [_backend(engine) for _ in range(5)] == [first] * 5  # the same session, unpinged


def test_a_postgres_connection_the_server_dropped_is_replaced_before_it_is_used(
    postgres: tuple[Engine, str],
) -> None:
    engine, url = postgres
    dropped = _backend(engine)  # now idle in the pool
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
    time.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket
    replaced = _backend(engine)  # no error: the pool opened another session
    assert replaced != dropped
    assert _backend(engine) == replaced


def test_a_postgres_session_with_a_notification_waiting_is_pinged_and_kept(
    postgres: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something to read on an idle session's socket is not proof it was dropped (here a
    notification it listens for): it is pinged, found alive, and used again."""
    engine, url = postgres
    with engine.connect() as conn:
        listening = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        conn.exec_driver_sql("LISTEN clearway_test")
        conn.commit()
    pings: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    assert _backend(engine) == listening and pings == []  # nothing to read: no ping
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("NOTIFY clearway_test")
    time.sleep(0.2)  # the notification reaches the pooled session's socket
    assert _backend(engine) == listening
    assert len(pings) == 1
