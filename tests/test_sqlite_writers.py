"""SQLite writers wait their turn on the writer lock, woken when it is free, never failing fast.

Each test's waiting writer sets SQLite's own busy timeout to 0: without the writer lock its
first write would fail at once with "database is locked" while another writer holds SQLite's.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from clearway.database import make_engine
from clearway.sqlite_writers import writer_lock
from tests.support import wait_for

metadata = MetaData()
note = Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(20), nullable=False),
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return path


def _write_without_waiting_in_sqlite(path: Path, text: str, done: list[str]) -> threading.Thread:
    """A thread writing `text` through its own engine, SQLite's busy timeout 0."""

    def write() -> None:
        engine = make_engine(f"sqlite:///{path}")
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout = 0")
                conn.execute(insert(note).values(text=text))
            done.append(text)
        finally:
            engine.dispose()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _texts(path: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(note.c.text).order_by(note.c.id)).scalars())
    finally:
        engine.dispose()


def test_a_writer_of_this_process_waits_for_another_to_commit(path):
    holder = make_engine(f"sqlite:///{path}")
    done: list[str] = []
    with holder.begin() as conn:
        conn.execute(insert(note).values(text="first"))
        waiting = _write_without_waiting_in_sqlite(path, "second", done)
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and done == []  # waiting for the writer lock, not failed
    waiting.join(timeout=10)
    assert done == ["second"]
    assert _texts(path) == ["first", "second"]
    holder.dispose()


_HOLD_A_WRITE = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from clearway.database import make_engine
    engine = make_engine("sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO note (text) VALUES ('other process')"))
        print("holding", flush=True)
        sys.stdin.readline()
    print("committed", flush=True)
    """
)


def test_a_writer_waits_for_another_process_to_commit(path):
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_WRITE.format(path=path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stdin is not None
            assert child.stdout.readline().strip() == "holding"
            done: list[str] = []
            waiting = _write_without_waiting_in_sqlite(path, "this process", done)
            waiting.join(timeout=0.5)
            assert waiting.is_alive() and done == []
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "committed"
            waiting.join(timeout=10)
            assert done == ["this process"]
        finally:
            child.kill()
    assert _texts(path) == ["other process", "this process"]


def test_the_lock_is_let_go_after_a_failed_write_and_a_read_never_takes_it(path):
    engine = make_engine(f"sqlite:///{path}")
    lock = writer_lock(str(path))
    with engine.begin() as conn:
        conn.execute(insert(note).values(id=1, text="one"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(note).values(id=1, text="again"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(note)).scalar_one() == 1
        assert not lock._threads.locked()  # a read holds nothing, even inside its transaction
    wait_for(lambda: not lock._threads.locked(), timeout_s=1)
    engine.dispose()


def test_a_file_s_lock_is_closed_once_no_engine_on_it_is_left(tmp_path):
    def open_files() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    gc.collect()
    before = open_files()
    for number in range(20):
        engine = make_engine(f"sqlite:///{tmp_path / f'{number}.db'}")
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(insert(note).values(text="x"))
        engine.dispose()
        del engine, conn
    gc.collect()
    assert open_files() <= before
