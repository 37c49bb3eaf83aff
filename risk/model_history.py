"""The model's history features kept in the risk database, one row per (kind, key).

Reading loads only the keys of the declaration at hand into a pure `History`; adding a
declaration or a label runs the pure update and writes back the rows it touched, in the caller's
transaction (so a rolled-back assessment leaves no count behind). Rows are read FOR UPDATE on
PostgreSQL, so two workers counting the same party do not lose an update.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from risk.db import HistoryTally
from risk.model.features import Declared, History, Tally

_OVERALL = ("overall", "")


def _rows(
    session: Session, keys: list[tuple[str, str]], *, lock: bool
) -> dict[tuple[str, str], HistoryTally]:
    query = select(HistoryTally).where(
        tuple_(col(HistoryTally.kind), col(HistoryTally.key)).in_(keys)
    )
    if lock:
        query = query.with_for_update()
    return {(row.kind, row.key): row for row in session.execute(query).scalars()}


def _history(rows: dict[tuple[str, str], HistoryTally]) -> History:
    history = History()
    for (kind, key), row in rows.items():
        if (kind, key) == _OVERALL:
            history.labelled, history.found = row.labelled, row.found
            continue
        history.tallies[(kind, key)] = Tally(
            seen=row.seen,
            labelled=row.labelled,
            found=row.found,
            log_value_sum=row.log_value_sum,
            log_value_per_kg_sum=row.log_value_per_kg_sum,
            log_value_per_kg_count=row.log_value_per_kg_count,
        )
    return history


def _keys(declared: Declared) -> list[tuple[str, str]]:
    return [*declared.history_keys().items(), _OVERALL]


_COLUMNS = (
    HistoryTally.__table__.c.kind,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.key,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.seen,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.labelled,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.found,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.log_value_sum,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.log_value_per_kg_sum,  # type: ignore[attr-defined]
    HistoryTally.__table__.c.log_value_per_kg_count,  # type: ignore[attr-defined]
)


# Built once (an expanding bound parameter): only the keys change between declarations.
_READ = select(*_COLUMNS).where(
    tuple_(_COLUMNS[0], _COLUMNS[1]).in_(bindparam("keys", expanding=True))
)


def history_for(session: Session, declared: Declared) -> History:
    """What earlier declarations say about this one's keys (and the overall outcome rate);
    plain rows, no ORM objects: this runs for every declaration."""
    history = History()
    found_rows = session.execute(_READ, {"keys": _keys(declared)})
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


def _update(session: Session, declared: Declared, label: bool | None) -> None:
    rows = _rows(session, _keys(declared), lock=True)
    history = _history(rows)
    if label is None:
        history.add(declared)
    else:
        history.add_label(declared, label)
    for kind, key in declared.history_keys().items():
        tally = history.tallies[(kind, key)]
        row = rows.get((kind, key)) or HistoryTally(kind=kind, key=key)
        row.seen, row.labelled, row.found = tally.seen, tally.labelled, tally.found
        row.log_value_sum = tally.log_value_sum
        row.log_value_per_kg_sum = tally.log_value_per_kg_sum
        row.log_value_per_kg_count = tally.log_value_per_kg_count
        session.add(row)
    overall = rows.get(_OVERALL) or HistoryTally(kind=_OVERALL[0], key=_OVERALL[1])
    overall.labelled, overall.found = history.labelled, history.found
    session.add(overall)


def add(session: Session, declared: Declared) -> None:
    """Count a declaration once its features are read."""
    _update(session, declared, None)


def add_label(session: Session, declared: Declared, found: bool) -> None:
    """Count an inspection outcome of a counted declaration."""
    _update(session, declared, found)
