"""bench.e2e counts the run's decided declarations in customs' database as well."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.e2e import decided_in_database
from clearway.database import make_engine, migrate
from customs.db import Declaration


def test_decided_declarations_are_counted_from_customs_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'customs.db'}"
    migrate("customs", url)
    now = datetime.now(UTC)
    statuses = {
        "released": 800,
        "reviewed": 300,
        "inspected": 500,
        "rejected": 100,
        "refused": -621028,
        "accepted": 120,  # waiting for risk's route
        "incomplete": None,  # its inventory not there yet
        "other-run": 800,  # not one of the run's orders
    }
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Declaration.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"id-{order_no}",
                    "ebp_code": "3105961682",
                    "order_no": order_no,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                }
                for order_no, status in statuses.items()
            ],
        )
    engine.dispose()
    run_orders = [order_no for order_no in statuses if order_no != "other-run"]

    assert decided_in_database(url, run_orders) == 5
    assert decided_in_database(url, ["accepted", "incomplete", "missing"]) == 0
