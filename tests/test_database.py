"""What every service engine gets (`clearway.database.make_engine`): SQLite's settings, and on
PostgreSQL pooled connections checked without a round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.orm import Session, registry

from clearway.database import (
    UPSERT_CHUNK,
    WAL_CHECKPOINT_PAGES,
    WAL_SIZE_LIMIT_BYTES,
    Upsert,
    make_engine,
)
from tests.support import postgres_database

metadata = MetaData()
page = Table(
    "page",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(4000), nullable=False),
)

tally = Table(
    "tally",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("key", String(20), primary_key=True),
    Column("n", Integer, nullable=False),
)
ADD = Upsert(
    tally, key=("name", "key"), set_='"n" = "tally"."n" + excluded."n"', returning=("key", "n")
)


def test_an_upsert_creates_then_updates_rows_and_returns_each(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        metadata.create_all(engine)
        rows = [{"name": "a", "key": f"k{i:04d}", "n": i} for i in range(UPSERT_CHUNK + 7)]
        with engine.begin() as conn:
            first = ADD.execute(conn, rows)  # two statements: a chunk and 7 rows
            again = ADD.execute(conn, [{"name": "a", "key": "k0003", "n": 10}])
            none = ADD.execute(conn, [])
        with engine.connect() as conn:
            stored = dict(conn.execute(select(tally.c.key, tally.c.n)).tuples().all())
    finally:
        engine.dispose()
    assert sorted(tuple(row) for row in first) == [(f"k{i:04d}", i) for i in range(len(rows))]
    assert [tuple(row) for row in again] == [("k0003", 13)] and none == []
    assert stored == {f"k{i:04d}": 13 if i == 3 else i for i in range(len(rows))}


def test_an_upsert_goes_to_the_driver_uncompiled(database_url: str) -> None:
    """SQLAlchemy 2.0 compiled its dialects' ON CONFLICT statements at every execution, and a
    text statement once for each count of rows: the driver gets the SQL itself."""
    engine = make_engine(database_url)
    seen: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, statement: str, _p: Any, context: Any, _many: bool) -> None:
        if statement.startswith('INSERT INTO "tally"'):
            seen.append((statement, context.compiled))

    event.listen(engine, "before_cursor_execute", note)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            ADD.execute(conn, [{"name": "b", "key": "k0", "n": 1}])
            ADD.execute(conn, [{"name": "b", "key": f"k{n}", "n": 1} for n in range(3)])
            rows = [tuple(row) for row in conn.execute(select(tally.c.key, tally.c.n))]
    finally:
        engine.dispose()
    mark = "?" if database_url.startswith("sqlite") else "%s"
    assert [compiled for _, compiled in seen] == [None, None]
    assert [statement.count(mark) for statement, _ in seen] == [3, 9]
    assert sorted(rows) == [("k0", 2), ("k1", 1), ("k2", 1)]


def test_an_upsert_in_a_session_sees_the_sessions_pending_changes(database_url: str) -> None:
    """As Session.execute would, the upsert flushes what the session holds first."""

    class Tally:
        name: str
        key: str
        n: int

    mapping = registry()
    mapping.map_imperatively(Tally, tally)
    engine = make_engine(database_url)
    try:
        metadata.create_all(engine)
        with Session(engine) as session:
            pending = Tally()
            pending.name, pending.key, pending.n = "p", "k", 5
            session.add(pending)
            rows = ADD.execute(session, [{"name": "p", "key": "k", "n": 1}])
            session.commit()
    finally:
        engine.dispose()
        mapping.dispose()
    assert [tuple(row) for row in rows] == [("k", 6)]


def test_an_upsert_refuses_a_set_list_with_placeholder_characters() -> None:
    bad = Upsert(tally, key=("name", "key"), set_='"n" = 100 % 7', returning=("n",))
    engine = make_engine("sqlite://")
    try:
        metadata.create_all(engine)
        with engine.begin() as conn, pytest.raises(ValueError, match="may not hold"):
            bad.execute(conn, [{"name": "a", "key": "k", "n": 1}])
    finally:
        engine.dispose()


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
