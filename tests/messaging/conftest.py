from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.messaging.harness import make_database


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The harness service's database, on SQLite and on PostgreSQL."""
    engine = make_database(database_url)
    yield engine
    engine.dispose()
