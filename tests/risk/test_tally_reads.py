"""The model's history rows are read by key, never by scanning the table (SQLite and
PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from risk.db import metadata
from risk.model.features import HISTORY_KEYS
from risk.model_history import _READ_LOCKED, _by_kind

TALLY = metadata.tables["risk_history_tally"]


def _row(kind: str, key: str, seen: int) -> dict[str, object]:
    return {
        "kind": kind,
        "key": key,
        "seen": seen,
        "labelled": 0,
        "found": 0,
        "log_value_sum": 0.0,
        "log_value_per_kg_sum": 0.0,
        "log_value_per_kg_count": 0,
    }


def test_the_rows_of_the_keys_asked_and_only_those_in_key_order(risk_engine):
    rows = [_row(kind, f"k{n}", n) for kind in HISTORY_KEYS for n in range(300)]
    rows.append(_row("overall", "", 7))
    wanted = {("seller", "k5"), ("hs6", "k5"), ("importer", "k299"), ("overall", "")}
    wanted |= {("courier", "k1"), ("courier", "absent"), ("declarant", "k12")}
    with Session(risk_engine) as session, session.begin():
        conn = session.connection()
        conn.execute(insert(TALLY), rows)
        result = conn.execute(_READ_LOCKED, _by_kind(wanted))
        found = [(kind, key, seen) for kind, key, seen, *_ in result]
        if risk_engine.dialect.name == "sqlite":
            context = result.context
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + context.statement, context.parameters[0]
            ).all()
            details = [str(step[-1]) for step in plan]
            assert not [d for d in details if d.startswith("SCAN risk_history_tally")], details
    assert found == sorted(
        (kind, key, 7 if kind == "overall" else int(key[1:]))
        for kind, key in wanted
        if key != "absent"
    )
