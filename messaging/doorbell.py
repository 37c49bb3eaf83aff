"""A relay is woken when another process commits outbox rows.

A relay polls its outbox. Rows its own process commits wake it at once (`OutboxRelay.wake`), but
rows another process commits, such as the customs API's (the customs worker relays them), waited
for the next poll: 25 ms at the median at 50 declarations/s (bench.e2e's latency by stage).

On SQLite all processes on a database run on this machine, so the relay listens on a Linux
abstract UNIX datagram socket named after the database file (`listen`), and every transaction
that inserted into the outbox sends it a byte once it has committed (`ring_after_outbox_commits`,
installed by `clearway.database.make_engine`). Nothing is left on disk. Where no relay listens,
or abstract sockets do not exist, the byte goes nowhere and the relay finds the rows at its next
poll, as before.

On PostgreSQL every transaction that stages events also sends `NOTIFY clearway_outbox`
(`messaging.outbox.stage`), which the server delivers when it commits and never if it rolls
back, to every session of that database LISTENing on the channel: the relay keeps one such
session open (`answer_postgres`), opened again after the server went away; meanwhile it polls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine, event

from messaging.outbox import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

_OUTBOX_INSERT = "INSERT INTO OUTBOX"


def address(path: str) -> bytes:
    """The abstract socket name of a database file's relay (the same from every process)."""
    digest = hashlib.blake2b(os.path.realpath(path).encode(), digest_size=12).hexdigest()
    return b"\0clearway-outbox-" + digest.encode()


def listen(path: str) -> socket.socket | None:
    """The socket the relay of the database file `path` is rung on; None where none can be had
    (another relay on the file listens already, or the platform has no abstract sockets)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(address(path))
    except OSError as exc:
        sock.close()
        log.info("no doorbell for the relay of %s (%s): it polls", path, exc)
        return None
    return sock


def answer(sock: socket.socket, wake: Callable[[], None], stop: threading.Event) -> None:
    """Call `wake` at every ring until `stop` is set (a thread's loop; closes the socket)."""
    sock.settimeout(0.5)
    try:
        while not stop.is_set():
            try:
                sock.recv(64)
            except TimeoutError:
                continue
            wake()
    finally:
        sock.close()


class _Bell:
    """Rings one database file's relay (a socket per process, never blocking)."""

    def __init__(self, path: str) -> None:
        self._address = address(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        weakref.finalize(self, self._sock.close)  # once the engine that rings it is gone

    def ring(self) -> None:
        # no relay listens (it polls), or its queue is full (it is awake already)
        with suppress(OSError):
            self._sock.sendto(b"!", self._address)


def ring_after_outbox_commits(engine: Engine, path: str) -> None:
    """Ring the relay of the SQLite file `path` after each transaction of `engine` that inserted
    into the outbox commits (not before: the relay would look too early)."""
    bell = _Bell(path)
    staged: set[int] = set()  # the DBAPI connections whose transaction inserted outbox rows

    @event.listens_for(engine, "before_cursor_execute", named=True)
    def _note_outbox_insert(**kw: Any) -> None:
        if kw["statement"][: len(_OUTBOX_INSERT)].upper() == _OUTBOX_INSERT:
            staged.add(id(kw["conn"].connection.dbapi_connection))

    dialect = engine.dialect
    commit = dialect.do_commit

    def commit_then_ring(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        key = _key(dbapi_connection)
        if key in staged:
            staged.discard(key)
            bell.ring()

    dialect.do_commit = commit_then_ring  # type: ignore[method-assign]
    for name in ("do_rollback", "do_close"):
        _forget_after(dialect, name, staged)


def _forget_after(dialect: Any, name: str, staged: set[int]) -> None:
    ends = getattr(dialect, name)

    def end_then_forget(dbapi_connection: Any) -> None:
        try:
            ends(dbapi_connection)
        finally:
            staged.discard(
                id(getattr(dbapi_connection, "dbapi_connection", None) or dbapi_connection)
            )

    setattr(dialect, name, end_then_forget)


def _key(dbapi_connection: Any) -> int:
    # the dialect is called with the pool's proxy of the connection or with the connection
    return id(getattr(dbapi_connection, "dbapi_connection", None) or dbapi_connection)


def answerer(engine: Engine, wake: Callable[[], None]) -> Callable[[threading.Event], None] | None:
    """The loop that calls `wake` whenever another process commits outbox rows to `engine`'s
    database (a thread's, until its stop event is set); None where no doorbell can be had (an
    in-memory SQLite database, or another relay listens on the file): the relay polls."""
    if engine.dialect.name == "postgresql":
        return lambda stop: answer_postgres(engine, wake, stop)
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    sock = listen(path) if path and path != ":memory:" else None
    if sock is None:
        return None
    return lambda stop: answer(sock, wake, stop)


def answer_postgres(
    engine: Engine, wake: Callable[[], None], stop: threading.Event, *, retry_s: float = 1.0
) -> None:
    """Call `wake` at every commit of outbox rows in `engine`'s PostgreSQL database until `stop`
    is set (a thread's loop, on a session of its own LISTENing on the outbox channel)."""
    import psycopg  # only PostgreSQL relays need it

    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    while not stop.is_set():
        try:
            with psycopg.connect(*cargs, **{**cparams, "autocommit": True}) as conn:
                conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                wake()  # what was committed while no session listened
                while not stop.is_set():
                    for _ in conn.notifies(timeout=0.5):
                        wake()
        except psycopg.Error as exc:  # the relay polls meanwhile: never fatal to the worker
            log.info("the relay's doorbell has no database session (%s): it polls", exc)
            stop.wait(retry_s)
