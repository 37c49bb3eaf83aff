"""Many rows written with one prepared statement, without SQLAlchemy's per-row work on SQLite.

`conn.execute(statement, rows)` makes SQLAlchemy build each row's parameters anew (construct,
process, order): on the hot paths that is most of what a written row costs in Python. On SQLite
`write_rows` compiles the statement once per set of keys and hands the driver plain tuples,
each value through the bind processor SQLAlchemy would use (datetimes as SQLite's text, Money
as canonical text), with `exec_driver_sql`: the connection's events still see each statement
(the writer lock, the outbox doorbell). A statement that needs more than the rows give (a
column default computed in Python, an expanding or fixed parameter) and every other dialect
(PostgreSQL's driver batches the rows itself, through SQLAlchemy's insertmanyvalues) go
through `conn.execute` unchanged.

A datetime column's processor remembers the last value it turned to text: the rows of one
transaction mostly share one `now`, and SQLite's processor formats each (a dict and a format
string per value: 2.4% of the customs API's CPU at bench.e2e's 450/s).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, DateTime, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = self.take(row)
        if not self.processors:
            return values
        out = list(values)
        for at, process in self.processors:
            out[at] = process(out[at])
        return tuple(out)


# statement -> {(dialect name, keys): plan, or None where conn.execute must do it}
_PLANS: weakref.WeakKeyDictionary[UpdateBase, dict[tuple[str, tuple[str, ...]], _Plan | None]] = (
    weakref.WeakKeyDictionary()
)


def write_rows(
    db: Session | Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Execute the INSERT or UPDATE `statement` once per row of `rows` (all with the same keys),
    in the caller's transaction, as `db.execute(statement, rows)` would."""
    if not rows:
        return
    conn = db if isinstance(db, Connection) else db.connection()
    dialect = conn.dialect
    plan = _plan(statement, dialect, tuple(rows[0])) if dialect.name == "sqlite" else None
    if plan is None:
        conn.execute(statement, list(rows))
        return
    try:
        values = [plan.values(row) for row in rows]
    except (KeyError, TypeError, ValueError, ArithmeticError):
        # a row without a key the first had, a value its type refuses: SQLAlchemy names it
        conn.execute(statement, list(rows))
        return
    conn.exec_driver_sql(plan.sql, values)


def _plan(statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    plans = _PLANS.get(statement)
    if plans is None:
        plans = _PLANS[statement] = {}
    key = (dialect.name, keys)
    if key not in plans:
        plans[key] = _compile(statement, dialect, keys)
    return plans[key]


def _compile(statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup
    # a column default computed in Python is a parameter no row gives: SQLAlchemy fills it
    if (
        not names
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or any(name not in keys for name in names)
    ):
        return None
    processors = []
    for at, name in enumerate(names):
        type_ = compiled.binds[name].type
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append(
                (at, _remembering(process) if isinstance(type_, DateTime) else process)
            )
    take = itemgetter(*names)
    one = len(names) == 1
    return _Plan(
        sql=compiled.string,
        take=(lambda row: (take(row),)) if one else take,
        processors=tuple(processors),
    )


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, answering again what it answered for the same (immutable) object last time.

    The last pair is one tuple, replaced whole: threads sharing the plan never see one value's
    text paired with another value.
    """
    last: tuple[Any, Any] = (object(), None)

    def remembered(value: Any) -> Any:
        nonlocal last
        seen, text = last
        if value is seen:
            return text
        text = process(value)
        last = (value, text)
        return text

    return remembered
