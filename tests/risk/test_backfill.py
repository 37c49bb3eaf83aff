"""Sellers risk assessed before it kept declaration records are not new after the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from clearway.database import make_engine, migrate, normalise_url


def test_earlier_assessments_become_declaration_records(database_url):
    config = Config()
    config.set_main_option("script_location", str(resources.files("risk") / "migrations"))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0002")
    engine = make_engine(database_url)
    assessed = datetime(2026, 11, 1, 8, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO risk_assessment (declaration_id, order_no, ebc_code, buyer_key, "
                    "score, route, reasons, ruleset_version, assessed_at) VALUES "
                    "('d-1', 'ORD1', '3301960002', 'k1', 25, 'release', '[]', 'r1', :at)"
                ),
                {"at": assessed},
            )
        migrate("risk", database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT declaration_id, ebc_code, ebp_code, buyer_key FROM declaration_record")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("d-1", "3301960002", None, "k1")]
