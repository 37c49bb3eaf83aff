"""The model's history features kept in the risk database, one row per (kind, key).

Reading loads only the keys at hand into a pure `History`. The worker loads the rows of a whole
run of declarations and labels at once (`Tallies`), counts each in order in memory with the pure
update (so each declaration's features see exactly the ones before it), and writes back the rows
it touched at the end, in the caller's transaction (so a rolled-back assessment leaves no count
behind). Rows are read FOR UPDATE on PostgreSQL, in key order, so two workers counting the same
party neither lose an update nor deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from messaging.rows import write_rows
from risk.db import metadata
from risk.model.features import HISTORY_KEYS, Declared, History, Tally

_OVERALL = ("overall", "")


def _keys(declared: Declared) -> list[tuple[str, str]]:
    return [*declared.history_keys().items(), _OVERALL]


_TALLY = metadata.tables["risk_history_tally"]
_INSERT_TALLY = insert(_TALLY)
_COLUMNS = (
    _TALLY.c.kind,
    _TALLY.c.key,
    _TALLY.c.seen,
    _TALLY.c.labelled,
    _TALLY.c.found,
    _TALLY.c.log_value_sum,
    _TALLY.c.log_value_per_kg_sum,
    _TALLY.c.log_value_per_kg_count,
)


# Built once (expanding bound parameters): only the keys change between declarations. The keys
# are asked for kind by kind, `kind = 'seller' AND key IN (...) OR ...`: SQLite finds each in
# the primary key (asked `(kind, key) IN (VALUES ...)`, it scans the whole table).
_KINDS = (*HISTORY_KEYS, _OVERALL[0])
_WANTED: ColumnElement[bool] = or_(
    *(
        and_(_TALLY.c.kind == kind, _TALLY.c.key.in_(bindparam(f"keys_{kind}", expanding=True)))
        for kind in _KINDS
    )
)


def _by_kind(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The parameters of `_WANTED` for some (kind, key) pairs."""
    found: dict[str, list[str]] = {f"keys_{kind}": [] for kind in _KINDS}
    for kind, key in sorted(set(keys)):
        found[f"keys_{kind}"].append(key)
    return found


_READ = select(*_COLUMNS).where(_WANTED)


def history_for(session: Session, declared: Declared) -> History:
    """What earlier declarations say about this one's keys (and the overall outcome rate);
    plain rows, no ORM objects: this runs for every declaration."""
    history = History()
    found_rows = session.execute(_READ, _by_kind(_keys(declared)))
    for kind, key, seen, labelled, found, value_sum, per_kg_sum, per_kg_count in found_rows:
        if (kind, key) == _OVERALL:
            history.labelled, history.found = labelled, found
            continue
        history.tallies[(kind, key)] = Tally(
            seen=seen,
            labelled=labelled,
            found=found,
            log_value_sum=value_sum,
            log_value_per_kg_sum=per_kg_sum,
            log_value_per_kg_count=per_kg_count,
        )
    return history


_READ_LOCKED = select(*_COLUMNS).where(_WANTED).order_by(_COLUMNS[0], _COLUMNS[1]).with_for_update()
# The SET clause comes from the column names in the parameters.
_WRITE = update(_TALLY).where(_TALLY.c.kind == bindparam("k"), _TALLY.c.key == bindparam("q"))


class Tallies:
    """The history rows of some keys, read once (locked) and kept up to date in memory as
    declarations and labels are counted, in order; `write` stores the rows they changed."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._all = History()
        self._stored: set[tuple[str, str]] = set()
        self._changed: set[tuple[str, str]] = set()
        for kind, key, seen, labelled, found, value_sum, per_kg_sum, per_kg_count in rows:
            self._stored.add((kind, key))
            if (kind, key) == _OVERALL:
                self._all.labelled, self._all.found = labelled, found
                continue
            self._all.tallies[(kind, key)] = Tally(
                seen=seen,
                labelled=labelled,
                found=found,
                log_value_sum=value_sum,
                log_value_per_kg_sum=per_kg_sum,
                log_value_per_kg_count=per_kg_count,
            )

    @classmethod
    def load(cls, conn: Connection, declared: Iterable[Declared]) -> Tallies:
        """The rows of every key of `declared`, locked in key order (PostgreSQL)."""
        keys = {key for d in declared for key in _keys(d)}
        return cls(conn.execute(_READ_LOCKED, _by_kind(keys)) if keys else ())

    def history(self, declared: Declared) -> History:
        """What earlier declarations say about this one's keys (and the overall outcome rate)."""
        history = History(labelled=self._all.labelled, found=self._all.found)
        for key in declared.history_keys().items():
            tally = self._all.tallies.get(key)
            if tally is not None:  # a copy: later counts must not change what was read
                history.tallies[key] = Tally(
                    seen=tally.seen,
                    labelled=tally.labelled,
                    found=tally.found,
                    log_value_per_kg_sum=tally.log_value_per_kg_sum,
                    log_value_per_kg_count=tally.log_value_per_kg_count,
                    log_value_sum=tally.log_value_sum,
                )
        return history

    def add(self, declared: Declared) -> None:
        """Count a declaration once its features are read."""
        self._all.add(declared)
        self._changed.update(_keys(declared))

    def add_label(self, declared: Declared, found: bool) -> None:
        """Count an inspection outcome of a counted declaration."""
        self._all.add_label(declared, found)
        self._changed.update(_keys(declared))

    def write(self, conn: Connection) -> None:
        """Store the rows the counts changed."""
        added, changed = [], []
        for kind, key in sorted(self._changed):
            if (kind, key) == _OVERALL:
                tally = Tally(labelled=self._all.labelled, found=self._all.found)
            else:
                tally = self._all.tallies[(kind, key)]
            values = {
                "seen": tally.seen,
                "labelled": tally.labelled,
                "found": tally.found,
                "log_value_sum": tally.log_value_sum,
                "log_value_per_kg_sum": tally.log_value_per_kg_sum,
                "log_value_per_kg_count": tally.log_value_per_kg_count,
            }
            if (kind, key) in self._stored:
                changed.append({"k": kind, "q": key, **values})
            else:
                added.append({"kind": kind, "key": key, **values})
        if added:
            write_rows(conn, _INSERT_TALLY, added)
        if changed:
            write_rows(conn, _WRITE, changed)
        self._stored |= self._changed
        self._changed.clear()


def add(session: Session, declared: Declared) -> None:
    """Count a declaration once its features are read."""
    conn = session.connection()
    tallies = Tallies.load(conn, [declared])
    tallies.add(declared)
    tallies.write(conn)


def add_label(session: Session, declared: Declared, found: bool) -> None:
    """Count an inspection outcome of a counted declaration."""
    conn = session.connection()
    tallies = Tallies.load(conn, [declared])
    tallies.add_label(declared, found)
    tallies.write(conn)
