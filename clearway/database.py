"""Engines and migrations for the per-service databases (SQLite embedded, PostgreSQL deployed)."""

from __future__ import annotations

import select
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache, partial
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Numeric,
    Row,
    String,
    Table,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator, TypeEngine

from clearway.sqlite_writers import take_turns
from messaging import doorbell


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def insert_or_ignore(table: Table) -> dict[str, Insert]:
    """`INSERT ... ON CONFLICT DO NOTHING` into `table` for each dialect the services run on,
    by dialect name (`connection.dialect.name`): built once, as hot paths keep statements."""
    return {
        "postgresql": pg_insert(table).on_conflict_do_nothing(),
        "sqlite": sqlite_insert(table).on_conflict_do_nothing(),
    }


@dataclass(frozen=True)
class Upsert:
    """`INSERT ... ON CONFLICT (key) DO UPDATE SET ... RETURNING ...` into `table`, as SQL that
    SQLite (3.35 and later) and PostgreSQL both run: `execute` inserts rows (created the first
    time) and returns the `returning` columns of each row inserted or updated, which stays
    locked until the transaction ends. `set_` is the SET list in SQL (`excluded` is the row that
    was to be inserted).

    The statement goes to the driver as SQL with positional placeholders, one per row and
    column, made once per count of rows and the driver's placeholder style. SQLAlchemy 2.0
    caches no statement built with its dialects' `on_conflict_do_update` (their Insert sets
    `inherit_cache = False`), and as text it compiles one for each count of rows it meets (a
    group's buyers run from one to hundreds): 12.6 ms for the first of 75 rows on a slow hour,
    0.75 ms for each after it, against 0.34 ms to hand the driver its SQL.
    """

    table: Table
    key: tuple[str, ...]
    set_: str
    returning: tuple[str, ...]

    def execute(
        self, db: Session | Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[Row[Any]]:
        """Upsert `rows` (each with the same columns), in the order given, UPSERT_CHUNK rows a
        statement; the `returning` values of each."""
        if not rows:
            return []
        if isinstance(db, Session):
            if db.autoflush:  # as Session.execute would: pending ORM changes go first
                db.flush()
            connection = db.connection()
        else:
            connection = db
        names = tuple(rows[0])
        found: list[Row[Any]] = []
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            sql = _upsert_sql(self, connection.dialect.paramstyle, names, len(chunk))
            params = tuple(row[name] for row in chunk for name in names)
            found += connection.exec_driver_sql(sql, params).all()
        return found


# Rows an Upsert writes per statement at most: far within the bound parameters SQLite (32,766)
# and PostgreSQL (65,535) take in one statement.
UPSERT_CHUNK = 500

# The driver's positional placeholder, by DB-API paramstyle (sqlite3: qmark; psycopg: pyformat,
# which takes %s with a sequence of values as well).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@lru_cache(maxsize=1024)
def _upsert_sql(upsert: Upsert, paramstyle: str, names: tuple[str, ...], count: int) -> str:
    def quoted(names: Iterable[str]) -> str:
        return ", ".join(f'"{name}"' for name in names)

    for name in (*names, *upsert.key, *upsert.returning):
        if name not in upsert.table.c:
            raise ValueError(f"{upsert.table.name} has no column {name!r}")
    if paramstyle not in _PLACEHOLDERS:
        raise ValueError(f"no positional placeholder known for paramstyle {paramstyle!r}")
    if any(mark in upsert.set_ for mark in "?%"):
        raise ValueError("an Upsert's SET list may not hold ? or % (the drivers' placeholders)")
    row = "(" + ", ".join([_PLACEHOLDERS[paramstyle]] * len(names)) + ")"
    return (
        f'INSERT INTO "{upsert.table.name}" ({quoted(names)}) VALUES {", ".join([row] * count)} '
        f"ON CONFLICT ({quoted(upsert.key)}) DO UPDATE SET {upsert.set_} "
        f"RETURNING {quoted(upsert.returning)}"
    )


# SQLite copies the write-ahead log back into the database once it holds this many pages (4 KiB
# each; SQLite's default is 1,000). Each copy reads the log, writes the pages and syncs both
# files, in the committing writer's turn; a page written again and again (an index's hot leaf)
# is copied once per checkpoint, so fewer, larger checkpoints do less: bench.customs_worker
# (75 declarations per tick) 2.9-3.5 -> 2.6-2.9 ms of CPU per declaration submitted, 513 -> 66
# fdatasync calls for 6,000 declarations. The log is cut back to WAL_SIZE_LIMIT_BYTES once
# checkpointed (a reader that holds a checkpoint back can make it grow past the size).
WAL_CHECKPOINT_PAGES = 10_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the service workload on SQLite (WAL, busy timeout) or PostgreSQL."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        path = make_url(url).database
        if path and path != ":memory:":
            take_turns(engine, path)
            doorbell.ring_after_outbox_commits(engine, path)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, **kwargs)
    event.listen(engine, "checkout", partial(_refuse_dropped, engine.dialect))
    return engine


def _refuse_dropped(dialect: Dialect, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has dropped is replaced before it is used.

    Instead of SQLAlchemy's pre-ping (a `SELECT 1` before every transaction: a round trip, 90-140
    us of wall time and 55-70 us of CPU on an idle machine, more on a busy one), the
    connection's socket is looked at. An idle session has nothing to read unless the server
    closed it (a restart, `pg_terminate_backend`, an idle timeout: its last message and the end
    of the stream wait there) or sent something on its own (a notification, a notice, TLS
    records): only then is it pinged, and replaced if the ping fails (DisconnectionError: the
    pool opens a fresh one). A peer that vanished without closing is found, as pre-ping would
    find it, by the first statement failing; the pool then drops every connection opened
    before.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    if not poller.poll(0):
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError("the server dropped this session") from exc


def alembic_config(package: str, url: str) -> Config:
    """Alembic's configuration for a service's migrations (`package` holds migrations/)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files(package) / "migrations"))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def migrate(package: str, url: str) -> None:
    """Bring a service's database to its newest Alembic revision (`package` holds migrations/)."""
    command.upgrade(alembic_config(package, url), "head")


_SCALE = Decimal("0.00001")


class Money(TypeDecorator[Decimal]):
    """Exact decimal(19,5): NUMERIC on PostgreSQL, canonical text on SQLite (no decimal there)."""

    impl = Numeric(19, 5)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(19, 5, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, not {type(value).__name__}")
        exact = value.quantize(_SCALE)  # the same text from SQLite as NUMERIC gives on PostgreSQL
        if exact != value:
            raise ValueError(f"{value} has more than 5 decimal places")
        if len(exact.as_tuple().digits) > 19:
            raise ValueError(f"{value} has more than 19 digits (decimal(19,5))")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)) if not isinstance(value, Decimal) else value


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back the stored UTC time without its
    zone (PostgreSQL gives it with)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session that sees one consistent state of the database across statements.

    Reads spanning several SELECTs (a document and its receipts) must not mix states from before
    and after a concurrent commit: REPEATABLE READ on PostgreSQL, an explicit deferred
    transaction on SQLite (whose driver otherwise runs each SELECT on its own).
    """
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN")
        elif engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session  # closing the session ends the transaction; loaded objects stay readable
