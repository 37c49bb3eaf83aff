"""Fixtures: a real embedded broker per test, and each database test on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from clearway.broker import free_port, start_broker
from clearway.database import make_engine, migrate
from clearway.processes import stop
from customs.context import Customs
from customs.vault import Vault
from messaging.admin import ensure_topics
from messaging.settings import KafkaSettings
from schemas.topics import TOPICS
from tests.support import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind the platform runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with postgres_database() as url:
            yield url


class Broker:
    """A running embedded broker and the settings to reach it."""

    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.process = process
        self.settings = KafkaSettings.embedded(f"127.0.0.1:{port}")

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh memory-only broker (the real tansu binary) with the platform's topics."""
    port = free_port()
    process = start_broker(port, tmp_path / "broker.log")
    running = Broker(port, process)
    ensure_topics(running.settings, TOPICS)
    yield running
    running.stop()


@pytest.fixture
def customs_engine(database_url: str) -> Iterator[Engine]:
    """The customs database, built by its migrations."""
    migrate("customs", database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


TEST_DATA_KEY = "test-data-key-for-clearway-tests-only-0123456789"


@pytest.fixture
def customs(customs_engine: Engine) -> Customs:
    """Customs' resources on its migrated database, with a test data key."""
    return Customs(engine=customs_engine, vault=Vault.from_secret(TEST_DATA_KEY))


@contextmanager
def another_database(package: str, database_url: str, path: Path) -> Iterator[Engine]:
    """A further database of the kind `database_url` is, built by `package`'s migrations: a
    SQLite file at `path`, or a fresh PostgreSQL database."""
    with ExitStack() as stack:
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(postgres_database())
        migrate(package, url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def risk_engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    """The risk database (its own, beside customs'), built by its migrations."""
    with another_database("risk", database_url, tmp_path / "risk.db") as engine:
        yield engine
