from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from customs.app import create_app
from customs.settings import CustomsSettings
from tests.conftest import TEST_DATA_KEY


@pytest.fixture
def customs_api(database_url: str, customs_engine) -> Iterator[TestClient]:
    """The customs API on a migrated database (no broker needed: events wait in the outbox)."""
    settings = CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY)
    with TestClient(create_app(settings)) as client:
        yield client
