"""Each service's migrations build exactly the tables its models describe."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clearway.database import alembic_config, make_engine, migrate
from clearway.registry import SERVICES
from customs.db import metadata as customs_metadata
from gateway.db import metadata as gateway_metadata
from risk.db import metadata as risk_metadata

METADATA = {"customs": customs_metadata, "gateway": gateway_metadata, "risk": risk_metadata}


def test_every_service_with_a_database_is_checked():
    assert {s.name for s in SERVICES if s.has_database} == set(METADATA)


@pytest.mark.parametrize("service", sorted(METADATA))
def test_the_migrated_database_matches_the_models(service, database_url):
    migrate(service, database_url)
    migrate(service, database_url)  # idempotent: a second run changes nothing
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), METADATA[service])
    finally:
        engine.dispose()
    assert differences == []


def test_sqlite_keeps_the_document_parties_in_their_key(tmp_path):
    """On SQLite, customs' document_party is a WITHOUT ROWID table, migrated or created from
    the models (one B-tree a row fewer than a rowid table with a composite key), and its
    downgrade makes it a rowid table again."""
    url = f"sqlite:///{tmp_path / 'customs.db'}"

    def table_sql(engine_url: str) -> str:
        engine = make_engine(engine_url)
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'document_party'"
                ).scalar_one()
        finally:
            engine.dispose()

    migrate("customs", url)
    assert table_sql(url).rstrip().endswith("WITHOUT ROWID")

    config = alembic_config("customs", url)
    command.downgrade(config, "0014")
    assert "WITHOUT ROWID" not in table_sql(url)
    command.upgrade(config, "head")
    assert table_sql(url).rstrip().endswith("WITHOUT ROWID")

    created = f"sqlite:///{tmp_path / 'created.db'}"
    engine = make_engine(created)
    try:
        customs_metadata.create_all(engine)
    finally:
        engine.dispose()
    assert table_sql(created).rstrip().endswith("WITHOUT ROWID")
