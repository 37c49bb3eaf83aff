"""The model's history features kept in the risk database, one row per (kind, key).

Reading loads only the keys of the declaration at hand into a pure `History`; adding a
declaration or a label runs the pure update and writes back the rows it touched, in the caller's
transaction (so a rolled-back assessment leaves no count behind). Rows are read FOR UPDATE on
PostgreSQL, so two workers counting the same party do not lose an update.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from risk.db import HistoryTally
from risk.model.features import Declared, History, Tally

_OVERALL = ("overall", "")


def _load(session: Session, keys: list[tuple[str, str]], *, lock: bool) -> History:
    history = History()
    for kind, key in keys:
        row = session.get(HistoryTally, (kind, key), with_for_update=lock)
        if row is None:
            continue
        history.tallies[(kind, key)] = Tally(
            seen=row.seen,
            labelled=row.labelled,
            found=row.found,
            log_value_sum=row.log_value_sum,
            log_value_per_kg_sum=row.log_value_per_kg_sum,
            log_value_per_kg_count=row.log_value_per_kg_count,
        )
    overall = history.tallies.pop(_OVERALL, None)
    if overall is not None:
        history.labelled, history.found = overall.labelled, overall.found
    return history


def _keys(declared: Declared) -> list[tuple[str, str]]:
    return [*declared.history_keys().items(), _OVERALL]


def history_for(session: Session, declared: Declared) -> History:
    """What earlier declarations say about this one's keys (and the overall outcome rate)."""
    return _load(session, _keys(declared), lock=False)


def _save(session: Session, history: History, declared: Declared) -> None:
    for kind, key in declared.history_keys().items():
        tally = history.tallies[(kind, key)]
        row = session.get(HistoryTally, (kind, key)) or HistoryTally(kind=kind, key=key)
        row.seen, row.labelled, row.found = tally.seen, tally.labelled, tally.found
        row.log_value_sum = tally.log_value_sum
        row.log_value_per_kg_sum = tally.log_value_per_kg_sum
        row.log_value_per_kg_count = tally.log_value_per_kg_count
        session.add(row)
    overall = session.get(HistoryTally, _OVERALL) or HistoryTally(kind="overall", key="")
    overall.labelled, overall.found = history.labelled, history.found
    session.add(overall)
    session.flush()


def add(session: Session, declared: Declared) -> None:
    """Count a declaration once its features are read."""
    history = _load(session, _keys(declared), lock=True)
    history.add(declared)
    _save(session, history, declared)


def add_label(session: Session, declared: Declared, found: bool) -> None:
    """Count an inspection outcome of a counted declaration."""
    history = _load(session, _keys(declared), lock=True)
    history.add_label(declared, found)
    _save(session, history, declared)
