"""Plain helpers for the tests: waiting, brokers, databases."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy.engine import make_url

T = TypeVar("T")

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEC = SHARED / "cbec-spec"
SAMPLES = SPEC / "samples"
POSTGRES_ADMIN_URL = os.environ.get(
    "CLEARWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def wait_for(predicate: Callable[[], T], timeout_s: float = 10.0, interval_s: float = 0.02) -> T:
    """Poll until `predicate` returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"clearway_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sample(kind: str, name: str) -> bytes:
    """An official sample message, e.g. sample("import", "CEB311Message")."""
    return (SAMPLES / kind / f"{name}.xml").read_bytes()
