"""SQLite writers take turns through a lock the kernel hands on, not by sleeping and retrying.

SQLite lets one connection write at a time. One that finds the database locked sleeps and
retries (1, 2, 5, 10 ... then 100 ms at a time until its busy timeout), so under load a writer
that commits back to back, such as the customs API's group commit, starves the others: measured
with bench.e2e at 250 declarations/s, the customs worker slept 5.6 s of every 10 waiting for
the lock (100 ms at a time), and the API 0.9 s. Every write transaction on a file therefore
first takes that file's writer lock: the threads of a process queue on a lock of its own, and
one thread per process waits in the kernel on a POSIX record lock of `<database>.writer`, which
wakes it as soon as the holder lets go. The lock is taken at the transaction's first write
statement (when SQLite's implicit BEGIN takes its own) and let go once it commits or rolls back.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event

# What waits longer than SQLite's own busy timeout (30 s, `make_engine`) fails as SQLite would.
TIMEOUT_S = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


class WriterLock:
    """One database file's writer lock in this process."""

    def __init__(self, path: str) -> None:
        self._threads = threading.Lock()
        self._fd = os.open(f"{path}.writer", os.O_RDWR | os.O_CREAT, 0o600)
        weakref.finalize(self, os.close, self._fd)  # once no engine on the file is left

    def acquire(self, timeout_s: float = TIMEOUT_S) -> None:
        if not self._threads.acquire(timeout=timeout_s):
            raise sqlite3.OperationalError("database is locked (writer lock)")
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


# Held by the engines on each file (their event hooks), so kept exactly as long as one is.
_locks: weakref.WeakValueDictionary[str, WriterLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def writer_lock(path: str) -> WriterLock:
    """The process's writer lock of a database file (one for every engine on that file)."""
    key = os.path.realpath(path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = WriterLock(key)
        return lock


def take_turns(engine: Engine, path: str) -> None:
    """Make every write transaction of `engine` (on the SQLite file `path`) hold its writer
    lock, from its first write statement until its commit or rollback."""
    lock = writer_lock(path)
    held: set[int] = set()  # the DBAPI connections holding the lock, by id

    @event.listens_for(engine, "before_cursor_execute", named=True)
    def _before_write(**kw: Any) -> None:
        if kw["statement"].lstrip()[:6].upper() not in _WRITES:
            return
        conn = kw["conn"]
        key = id(conn.connection.dbapi_connection)
        if key in held:
            return
        lock.acquire()
        held.add(key)

    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close"):
        _release_after(dialect, name, lock, held)


def _release_after(dialect: Any, name: str, lock: WriterLock, held: set[int]) -> None:
    ends = getattr(dialect, name)

    def end_then_release(dbapi_connection: Any) -> None:
        # called with the pool's proxy of the connection or with the connection itself
        key = id(getattr(dbapi_connection, "dbapi_connection", None) or dbapi_connection)
        try:
            ends(dbapi_connection)
        finally:
            if key in held:
                held.discard(key)
                lock.release()

    setattr(dialect, name, end_then_release)
