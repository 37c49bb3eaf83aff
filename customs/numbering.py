"""Numbers customs assigns in sequence, race-free on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clearway.database import Upsert
from customs.db import Counter

# Add `value` to the counter `name` (created at 0 the first time) and return the sum: one
# statement, the counter's row locked until the transaction ends (no two take the same).
_TAKE = Upsert(
    Counter.__table__,  # type: ignore[attr-defined]
    key=("name",),
    set_='"value" = "counter"."value" + excluded."value"',
    returning=("value",),
)


def next_value(session: Session, name: str) -> int:
    """The next number of the sequence `name` (1, 2, ...), taken inside the caller's transaction."""
    return next_values(session, name, 1)[0]


def next_values(session: Session, name: str, count: int) -> range:
    """The next `count` numbers of the sequence `name`, taken at once (one upsert)."""
    ((last,),) = _TAKE.execute(session, [{"name": name, "value": count}])
    return range(int(last) - count + 1, int(last) + 1)


def inventory_number(session: Session, *, customs_code: str, year: int, ie_flag: str) -> str:
    """An inventory number (`invtNo`): district (4) + year (4) + I/E + a 9-digit serial."""
    return inventory_numbers(session, customs_code=customs_code, year=year, ie_flag=ie_flag)[0]


def inventory_numbers(
    session: Session, *, customs_code: str, year: int, ie_flag: str, count: int = 1
) -> list[str]:
    """`count` inventory numbers in sequence, taken at once."""
    serials = next_values(session, f"invt:{customs_code}:{year}:{ie_flag}", count)
    return [f"{customs_code}{year:04d}{ie_flag}{serial:09d}" for serial in serials]
