"""bench.e2e reads when customs' database says each of the run's declarations was decided, how
much storage each database takes, and whether PostgreSQL cleans up behind the run."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import insert

from bench.e2e import (
    database_bytes,
    decided_in_database,
    rejected_in_database,
    vacuum_note,
    vacuumed,
    vacuuming,
)
from clearway.database import make_engine, migrate
from customs.db import Declaration, Receipt
from tests.support import postgres_database

T0 = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def test_each_decided_declaration_has_the_time_of_its_inventory_s_first_final_receipt(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'customs.db'}"
    migrate("customs", url)
    receipts = {  # order -> its inventory's receipts (status, seconds after T0)
        "released": [(2, 0.0), (120, 0.1), (800, 0.45)],
        "reviewed": [(120, 0.1), (300, 0.3), (399, 9.0), (800, 9.5)],
        "rejected": [(120, 0.1), (100, 0.2)],
        "refused": [(-621028, 0.05)],
        "accepted": [(120, 0.1)],  # waiting for risk's route
        "other-run": [(800, 0.2)],  # not one of the run's orders
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no documents needed for this
        conn.execute(
            insert(Declaration.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"declaration-{order_no}",
                    "ebp_code": "3105961682",
                    "order_no": order_no,
                    "inventory_document_id": f"inventory-{order_no}",
                    "created_at": T0,
                    "updated_at": T0,
                }
                for order_no in [*receipts, "incomplete"]  # incomplete: no inventory receipt
            ],
        )
        conn.execute(
            insert(Receipt.__table__),  # type: ignore[attr-defined]
            [
                {
                    "document_id": f"inventory-{order_no}",
                    "return_status": status,
                    "return_info": "",
                    "return_time": "",
                    "created_at": T0 + timedelta(seconds=after),
                }
                for order_no, issued in receipts.items()
                for status, after in issued
            ],
        )
        conn.commit()
    engine.dispose()
    run_orders = [order_no for order_no in [*receipts, "incomplete"] if order_no != "other-run"]

    decided = decided_in_database(url, run_orders)

    expected = {
        "released": (0.45, 800),
        "reviewed": (0.3, 300),
        "rejected": (0.2, 100),
        "refused": (0.05, -621028),
    }
    assert sorted(decided) == sorted(expected)
    for order_no, (after, status) in expected.items():
        assert decided[order_no][0] == pytest.approx(T0.timestamp() + after)
        assert decided[order_no][1] == status


def test_a_document_s_refusal_is_its_first_negative_receipt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'customs.db'}"
    migrate("customs", url)
    issued = {  # document -> its receipts, in order
        "duplicate": [2, -301010],
        "twice": [-301010, -621028],
        "accepted": [2, 120],
        "other": [-301010],  # not asked for
    }
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(
            insert(Receipt.__table__),  # type: ignore[attr-defined]
            [
                {
                    "document_id": document_id,
                    "return_status": status,
                    "return_info": "",
                    "return_time": "",
                    "created_at": T0,
                }
                for document_id, statuses in issued.items()
                for status in statuses
            ],
        )
        conn.commit()
    engine.dispose()

    refused = rejected_in_database(url, ["duplicate", "twice", "accepted", "never-stored"])

    assert refused == {"duplicate": -301010, "twice": -301010}


def test_the_storage_of_a_sqlite_database_counts_its_write_ahead_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'customs.db'}"
    migrate("customs", url)
    files = [tmp_path / "customs.db", tmp_path / "customs.db-wal"]
    assert database_bytes(url) == sum(f.stat().st_size for f in files if f.exists()) > 0
    assert vacuum_note(url) == ""  # nothing for SQLite to say


def test_on_postgresql_the_storage_is_the_database_s_and_autovacuum_is_named() -> None:
    with postgres_database() as url, psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        setting = conn.execute("SHOW autovacuum").fetchone()
        assert size is not None and setting is not None
        assert database_bytes(url) == size[0]
        note = vacuum_note(url)
    assert ("autovacuum on" in note) == (setting[0] == "on")
    assert ("autovacuum OFF" in note) == (setting[0] == "off")


def test_the_bench_vacuums_and_analyses_postgresql_databases_when_asked(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'customs.db'}"
    with postgres_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n integer)")
            conn.execute("INSERT INTO t SELECT generate_series(1, 1000)")
            conn.execute("DELETE FROM t WHERE n % 2 = 0")
        with vacuuming([url, sqlite], None) as rounds:  # not asked: nothing runs
            time.sleep(0.3)
        assert rounds == [] and vacuumed(rounds, None) == ""
        with vacuuming([url, sqlite], 0.1) as rounds:
            deadline = time.monotonic() + 30
            while not rounds and time.monotonic() < deadline:
                time.sleep(0.05)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT last_vacuum, last_analyze, n_dead_tup FROM pg_stat_user_tables"
                " WHERE relname = 't'"
            ).fetchone()
    assert rounds, "no round ran"
    assert row is not None and row[0] is not None and row[1] is not None and row[2] == 0
    assert vacuumed(rounds, 0.1).startswith(
        f"; VACUUM (ANALYZE) by the bench every 0.1s: {len(rounds)}"
    )
    with vacuuming([sqlite], 0.1) as rounds:  # SQLite: nothing to vacuum
        time.sleep(0.3)
    assert rounds == []
