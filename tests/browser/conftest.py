"""The whole platform run for real (`clearway up`, SQLite) and a headless Chromium to drive it.

One platform per test module (`live`); the administrator's API key comes from the data folder's
secrets.json. `Live.tenant(...)` / `Live.user(...)` create enterprises and people through the
admin API; `page` is a fresh Playwright page (sync API) per test; `shot(page, name)` keeps a
screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearway.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Live:
    """A running platform: its URL and an admin client."""

    url: str
    admin_key: str
    http: httpx.Client = field(repr=False)

    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def tenant(self, name: str, codes: list[str], roles: list[str]) -> dict[str, Any]:
        """A tenant with an API key (answer of the admin API plus `key`)."""
        answer = self.http.post(
            "/api/v1/admin/tenants",
            json={"name": name, "codes": codes, "roles": roles},
            headers=self._admin(),
        )
        assert answer.status_code == 201, answer.text
        tenant = answer.json()
        key = self.http.post(
            f"/api/v1/admin/tenants/{tenant['id']}/api-keys",
            json={"name": f"{name} key"},
            headers=self._admin(),
        )
        assert key.status_code == 201, key.text
        return {**tenant, "key": key.json()["key"]}

    def user(self, login: str, kind: str, language: str = "zh_CN", **extra: Any) -> str:
        """A person who signs in; returns the password."""
        password = f"{login}-password-1"
        answer = self.http.post(
            "/api/v1/admin/users",
            json={
                "login": login,
                "displayName": login,
                "password": password,
                "kind": kind,
                "language": language,
                **extra,
            },
            headers=self._admin(),
        )
        assert answer.status_code == 201, answer.text
        return password


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = tmp_path_factory.mktemp("platform") / "data"
    port = free_port()
    env = {**os.environ, "RISK_RANDOM_INSPECTION_RATE": "0"}
    for name in list(env):
        if name.endswith("_DATABASE_URL"):
            del env[name]  # every service on its own SQLite file in the data folder
    process = subprocess.Popen(
        [sys.executable, "-m", "clearway.cli", "--data-dir", str(data), "up", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if line.startswith("Clearway is up") or process.poll() is not None:
            break
    if not any(line.startswith("Clearway is up") for line in output):
        process.kill()
        process.communicate(timeout=30)
        raise AssertionError("".join(output))
    secrets = json.loads((data / "secrets.json").read_text())
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Live(url, secrets["GATEWAY_ADMIN_API_KEY"], client)
    process.terminate()
    process.communicate(timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    """A full-page screenshot kept as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, login: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for_load_state()
