"""Each service's migrations build exactly the tables its models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clearway.database import make_engine, migrate
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
