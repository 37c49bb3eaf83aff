from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from customs.app import create_app
from customs.settings import CustomsSettings
from tests.conftest import TEST_DATA_KEY, another_database


@pytest.fixture
def customs_api(database_url: str, customs_engine) -> Iterator[TestClient]:
    """The customs API on a migrated database (no broker needed: events wait in the outbox)."""
    settings = CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def second_engine(database_url: str, tmp_path) -> Iterator[Engine]:
    """Another empty customs database of the same kind."""
    with another_database("customs", database_url, tmp_path / "second.db") as engine:
        yield engine
