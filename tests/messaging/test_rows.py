"""write_rows: many rows written as `conn.execute(statement, rows)` would, on SQLite straight to
the driver (compiled once, each value through SQLAlchemy's bind processor)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, StatementError

from clearway.database import Money, insert_or_ignore, make_engine
from messaging.rows import write_rows
from tests.support import postgres_database

metadata = MetaData()
THING = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False),
    Column("at", DateTime(timezone=True)),
    Column("amount", Money),
    Column("flag", Boolean),
    Column("note", String(40)),
)
STAMPED = Table(
    "stamped",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False),
    Column("origin", String(40), default=lambda: "python default"),
)
INSERT_THING = insert(THING)
RENAME = update(THING).where(THING.c.name == bindparam("old")).values(note=bindparam("new"))
INSERT_STAMPED = insert(STAMPED)

AT = datetime(2026, 12, 6, 7, 8, 9, 123456, tzinfo=UTC)
ROWS: list[dict[str, Any]] = [
    {"name": "a", "at": AT, "amount": Decimal("12.5"), "flag": True, "note": None},
    {"name": "b", "at": None, "amount": None, "flag": False, "note": "汉字 and text"},
    {"name": "c", "at": AT, "amount": Decimal("-0.00001"), "flag": None, "note": ""},
]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _stored(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (raw: no result processing)."""
    columns = ", ".join(c.name for c in table.columns if c.name != "id")
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY id")
        ]


def _statements(engine: Engine) -> list[tuple[str, bool, Any, bool]]:
    """What reached the driver: statement, executemany, parameters, and whether SQLAlchemy
    compiled the parameters (False: handed over as they were)."""
    seen: list[tuple[str, bool, Any, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        seen.append((statement, many, params, context.compiled is not None))

    return seen


def test_rows_are_stored_exactly_as_sqlalchemy_stores_them(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(INSERT_THING, ROWS)
    expected = _stored(engine, THING)
    with engine.begin() as conn:
        conn.execute(THING.delete())
        write_rows(conn, INSERT_THING, ROWS)
    assert _stored(engine, THING) == expected
    with engine.connect() as conn:
        read = [dict(row._mapping) for row in conn.execute(select(THING).order_by(THING.c.id))]
    assert [{k: v for k, v in r.items() if k != "id"} for r in read] == [
        {**row, "at": row["at"] and row["at"].replace(tzinfo=None)}
        if engine.dialect.name == "sqlite"
        else row
        for row in ROWS
    ]


def test_sqlite_rows_go_to_the_driver_as_one_statement_the_connection_events_see(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    metadata.create_all(engine)
    seen = _statements(engine)
    with engine.begin() as conn:
        write_rows(conn, INSERT_THING, ROWS)
        write_rows(conn, RENAME, [{"old": "a", "new": "x"}, {"old": "c", "new": "y"}])
    inserts = [s for s in seen if s[0].startswith("INSERT INTO thing")]
    assert [(many, compiled) for _, many, _, compiled in inserts] == [(True, False)]
    # plain tuples, each value as SQLite's bind processors make it
    assert inserts[0][2] == [
        ("a", "2026-12-06 07:08:09.123456", "12.50000", 1, None),
        ("b", None, None, 0, "汉字 and text"),
        ("c", "2026-12-06 07:08:09.123456", "-0.00001", None, ""),
    ]
    updates = [s for s in seen if s[0].startswith("UPDATE thing")]
    assert [(many, params, compiled) for _, many, params, compiled in updates] == [
        (True, [("x", "a"), ("y", "c")], False)
    ]
    assert [r[-1] for r in _stored(engine, THING)] == ["x", "汉字 and text", "y"]


def test_each_datetime_is_written_as_itself_when_rows_share_or_alternate_them(
    tmp_path: Path,
) -> None:
    """The datetime processor remembers its last value: shared, alternating, equal but distinct
    and naive values must each still be written as themselves, from several threads too."""
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    metadata.create_all(engine)
    later = datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    stamps = [AT, AT, later, AT, datetime.fromisoformat(later.isoformat()), None, AT]
    stamps += [later.replace(tzinfo=None), datetime(2026, 12, 6, 7, 8, 9, 123457, tzinfo=UTC)]

    def write(offset: int) -> None:
        rows = [{**ROWS[0], "name": f"{offset}-{i}", "at": at} for i, at in enumerate(stamps)]
        with engine.begin() as conn:
            write_rows(conn, INSERT_THING, rows)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(40)))
    with engine.connect() as conn:
        stored = {name: at for name, at in conn.exec_driver_sql("SELECT name, at FROM thing")}
    texts = [at and at.strftime("%Y-%m-%d %H:%M:%S.%f") for at in stamps]
    assert texts[2] == "2027-01-02 03:04:05.000006" and texts[-1].endswith(".123457")
    assert stored == {f"{o}-{i}": text for o in range(40) for i, text in enumerate(texts)}


def test_a_default_computed_in_python_is_still_applied(engine: Engine) -> None:
    with engine.begin() as conn:
        write_rows(conn, INSERT_STAMPED, [{"name": "a"}, {"name": "b"}])
        write_rows(conn, INSERT_STAMPED, [{"name": "c", "origin": "given"}])
    assert _stored(engine, STAMPED) == [
        ("a", "python default"),
        ("b", "python default"),
        ("c", "given"),
    ]


def test_a_row_without_a_key_or_with_a_bad_value_gets_sqlalchemys_error(engine: Engine) -> None:
    with pytest.raises(StatementError, match="amount"), engine.begin() as conn:
        write_rows(conn, INSERT_THING, [ROWS[0], {**ROWS[1], "amount": 1.5}])
    with pytest.raises(StatementError), engine.begin() as conn:
        write_rows(conn, INSERT_THING, [ROWS[0], {"name": "short"}])
    assert _stored(engine, THING) == []


BLOBS = Table(
    "blob",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("token", Uuid),
    Column("text", Text),
)
INSERT_BLOB = insert(BLOBS)
AWKWARD = [  # what COPY's text format must escape: tabs, newlines, backslashes, \N, quotes
    {"name": "a", "token": uuid.UUID(int=1), "text": "a\tb\nc\\N"},
    {"name": "b", "token": None, "text": "'quoted' \"and\" \\ 汉字\r\n"},
    {"name": "c", "token": uuid.UUID(int=2**128 - 1), "text": "\\."},
]
BYTES = Table(
    "bytes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("data", LargeBinary),
)
INSERT_BYTES = insert(BYTES)


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    with postgres_database() as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        yield engine
        engine.dispose()


def test_postgresql_copies_plain_inserts_and_stores_what_an_insert_would(
    postgres_engine: Engine,
) -> None:
    engine = postgres_engine
    with engine.begin() as conn:
        conn.execute(INSERT_BLOB, AWKWARD)
        conn.execute(INSERT_THING, ROWS)
    expected = (_stored(engine, BLOBS), _stored(engine, THING))
    with engine.begin() as conn:
        conn.execute(BLOBS.delete())
        conn.execute(THING.delete())
    seen = _statements(engine)
    with engine.begin() as conn:
        write_rows(conn, INSERT_BLOB, AWKWARD)
        write_rows(conn, INSERT_THING, ROWS)

    assert (_stored(engine, BLOBS), _stored(engine, THING)) == expected
    assert _stored(engine, BLOBS)[0][2] == "a\tb\nc\\N"
    # COPY: no INSERT statement reached the driver
    assert not [s for s in seen if s[0].startswith("INSERT")]


def test_postgresql_copy_errors_come_as_sqlalchemy_s_and_undo_the_transaction(
    postgres_engine: Engine,
) -> None:
    engine = postgres_engine
    with engine.begin() as conn:
        write_rows(conn, INSERT_BLOB, AWKWARD[:1])
    with pytest.raises(IntegrityError, match="blob_name_key"), engine.begin() as conn:
        write_rows(conn, INSERT_BLOB, AWKWARD[1:])
        write_rows(conn, INSERT_BLOB, AWKWARD[:1])  # the same name again
    assert [row[2] for row in _stored(engine, BLOBS)] == [AWKWARD[0]["text"]]


def test_postgresql_statements_that_are_not_plain_inserts_still_run(
    postgres_engine: Engine,
) -> None:
    engine = postgres_engine
    ignore = insert_or_ignore(BLOBS)["postgresql"]
    with engine.begin() as conn:
        write_rows(conn, ignore, AWKWARD[:2])
        write_rows(conn, ignore, AWKWARD)  # ON CONFLICT DO NOTHING: only c is new
        write_rows(conn, INSERT_THING, ROWS)
        write_rows(conn, RENAME, [{"old": "a", "new": "x"}, {"old": "c", "new": "y"}])
        write_rows(conn, INSERT_STAMPED, [{"name": "a"}])  # a default computed in Python
        write_rows(conn, INSERT_BYTES, [{"data": b"\x00\t\\N\xff"}, {"data": None}])  # bytes
    assert [row[0] for row in _stored(engine, STAMPED)] == ["a"]
    assert _stored(engine, STAMPED) == [("a", "python default")]
    assert [row[1] for row in _stored(engine, BLOBS)] == [
        AWKWARD[0]["token"],
        None,
        AWKWARD[2]["token"],
    ]
    assert [r[-1] for r in _stored(engine, THING)] == ["x", "汉字 and text", "y"]
    assert _stored(engine, BYTES) == [(b"\x00\t\\N\xff",), (None,)]


def test_no_rows_writes_nothing(engine: Engine) -> None:
    seen = _statements(engine)
    with engine.begin() as conn:
        write_rows(conn, INSERT_THING, [])
    assert not [s for s in seen if "thing" in s[0]]
