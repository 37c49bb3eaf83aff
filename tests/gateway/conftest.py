"""A gateway on its own migrated database, in front of a real customs API served over HTTP."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from clearway.broker import free_port
from clearway.database import migrate
from customs.app import create_app as create_customs
from customs.settings import CustomsSettings
from gateway.app import create_app
from gateway.domain.credentials import new_api_key
from gateway.settings import GatewaySettings
from tests.conftest import TEST_DATA_KEY
from tests.support import postgres_database, wait_for

GATEWAY_DATA_KEY = "gateway-test-data-key-0123456789-abcdefghij"


@pytest.fixture
def customs_url(database_url, customs_engine) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_customs(CustomsSettings(database_url=database_url, data_key=TEST_DATA_KEY)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _serve(app) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def risk_url(risk_engine) -> Iterator[str]:
    """The risk API served over HTTP on risk's migrated database."""
    from decimal import Decimal

    from risk.app import create_app as create_risk
    from risk.settings import RiskSettings

    settings = RiskSettings(
        database_url=risk_engine.url.render_as_string(hide_password=False),
        random_inspection_rate=Decimal(0),
    )
    yield from _serve(create_risk(settings))


@pytest.fixture
def gateway_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The gateway's own database, of the same kind as the customs one, migrated."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        migrate("gateway", url)
        yield url
        return
    with postgres_database() as url:
        migrate("gateway", url)
        yield url


@dataclass
class Platform:
    """A running gateway (TestClient) and its administrator's key."""

    client: TestClient
    admin_key: str

    def as_admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def tenant(self, name: str, codes: list[str], roles: list[str] | None = None) -> Tenant:
        answer = self.client.post(
            "/api/v1/admin/tenants",
            json={"name": name, "codes": codes, "roles": roles or ["ecommerce_platform"]},
            headers=self.as_admin(),
        )
        assert answer.status_code == 201, answer.text
        tenant_id = answer.json()["id"]
        key = self.client.post(
            f"/api/v1/admin/tenants/{tenant_id}/api-keys",
            json={"name": f"{name} key"},
            headers=self.as_admin(),
        )
        assert key.status_code == 201, key.text
        return Tenant(
            tenant_id, codes, key.json()["key"], key.json()["clientId"], key.json()["signingSecret"]
        )

    def user(self, login: str, kind: str, **extra: Any) -> str:
        password = f"{login}-password-1"
        answer = self.client.post(
            "/api/v1/admin/users",
            json={
                "login": login,
                "displayName": login,
                "password": password,
                "kind": kind,
                **extra,
            },
            headers=self.as_admin(),
        )
        assert answer.status_code == 201, answer.text
        return password

    def sign_in(self, login: str, password: str) -> None:
        """Sign in through the sign-in form (with its CSRF token), keeping the session cookie."""
        form = self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        answer = self.client.post(
            "/login",
            data={"login": login, "password": password, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    def csrf(self, page: str) -> str:
        """The CSRF token a signed-in page carries."""
        found = re.search(r'name="csrf-token" content="([^"]+)"', self.client.get(page).text)
        assert found
        return found.group(1)


@dataclass
class Tenant:
    id: str
    codes: list[str]
    key: str
    client_id: str
    signing_secret: str | None

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_platform(
    customs_url: str,
    gateway_database: str,
    risk_url: str = "http://127.0.0.1:9",
    **settings: Any,
) -> Iterator[Platform]:
    admin_key = new_api_key().key
    app = create_app(
        GatewaySettings(
            database_url=gateway_database,
            customs_url=customs_url,
            risk_url=risk_url,
            data_key=GATEWAY_DATA_KEY,
            admin_api_key=admin_key,
            auth_cache_s=0,
            **settings,
        )
    )
    with TestClient(app) as client:
        yield Platform(client, admin_key)


@pytest.fixture
def platform(customs_url: str, gateway_database: str) -> Iterator[Platform]:
    yield from make_platform(customs_url, gateway_database)
