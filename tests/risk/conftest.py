from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from risk.app import create_app
from risk.settings import RiskSettings


@pytest.fixture
def risk_api(risk_engine) -> Iterator[TestClient]:
    """The risk API on risk's migrated database (the shipped rule set, no random inspections)."""
    settings = RiskSettings(
        database_url=risk_engine.url.render_as_string(hide_password=False),
        random_inspection_rate=Decimal(0),
    )
    with TestClient(create_app(settings)) as client:
        yield client
