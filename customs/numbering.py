"""Numbers customs assigns in sequence, race-free on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import insert_or_ignore
from customs.db import Counter

# Built once (building a statement costs more than executing it).
_ENSURE = insert_or_ignore(Counter.__table__)  # type: ignore[attr-defined]
_TAKE = (
    update(Counter)
    .where(col(Counter.name) == bindparam("counter"))
    .values(value=col(Counter.value) + bindparam("count"))
    .returning(col(Counter.value))
)


def next_value(session: Session, name: str) -> int:
    """The next number of the sequence `name` (1, 2, ...), taken inside the caller's transaction."""
    return next_values(session, name, 1)[0]


def next_values(session: Session, name: str, count: int) -> range:
    """The next `count` numbers of the sequence `name`, taken at once (one UPDATE)."""
    session.execute(_ENSURE[session.get_bind().dialect.name], {"name": name, "value": 0})
    last = int(session.execute(_TAKE, {"counter": name, "count": count}).scalar_one())
    return range(last - count + 1, last + 1)


def inventory_number(session: Session, *, customs_code: str, year: int, ie_flag: str) -> str:
    """An inventory number (`invtNo`): district (4) + year (4) + I/E + a 9-digit serial."""
    return inventory_numbers(session, customs_code=customs_code, year=year, ie_flag=ie_flag)[0]


def inventory_numbers(
    session: Session, *, customs_code: str, year: int, ie_flag: str, count: int = 1
) -> list[str]:
    """`count` inventory numbers in sequence, taken at once."""
    serials = next_values(session, f"invt:{customs_code}:{year}:{ie_flag}", count)
    return [f"{customs_code}{year:04d}{ie_flag}{serial:09d}" for serial in serials]
