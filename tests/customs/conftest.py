from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from customs.app import create_app
from customs.settings import CustomsSettings


@pytest.fixture
def customs_api(database_url: str, customs_engine) -> Iterator[TestClient]:
    """The customs API on a migrated database (no broker needed: events wait in the outbox)."""
    with TestClient(create_app(CustomsSettings(database_url=database_url))) as client:
        yield client
