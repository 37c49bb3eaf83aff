"""Plain helpers for the tests: waiting, brokers, databases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from lxml import etree
from sqlalchemy.engine import make_url

from clearway.broker import free_port
from customs.ceb import signature
from customs.ceb.documents import KINDS

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
def served(module_dir: Path, factory: str, *options: str, ready_path: str = "/") -> Iterator[int]:
    """`python -m clearway.serve factory` in a child process (its module found in
    `module_dir`), with uvicorn `options`; its port once `ready_path` answers."""
    root = Path(__file__).resolve().parents[1]
    port = free_port()
    log = module_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearway.serve", factory, "--port", str(port), *options],
            cwd=root,
            env={"PYTHONPATH": f"{module_dir}:{root}", "PATH": "/usr/bin:/bin"},
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=1):
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "clearway.serve did not answer"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


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


DS = "{http://www.w3.org/2000/09/xmldsig#}"


def unsigned(body: bytes) -> bytes:
    """A message with its ds:Signature removed (where the XSD makes it optional)."""
    root = etree.fromstring(body)
    for element in root.findall(f"{DS}Signature"):
        root.remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class Identity:
    """A signing key and its self-signed certificate, for one algorithm."""

    algorithm: str
    private_key: object
    certificate_der: bytes

    @classmethod
    def make(cls, algorithm: str, name: str = "Clearway test") -> Identity:
        key, der = signature.generate_test_identity(algorithm, name)
        return cls(algorithm, key, der)

    def sign(self, body: bytes) -> bytes:
        """`body` with its old signature replaced by one made with this identity."""
        root = etree.fromstring(unsigned(body))
        message_type = etree.QName(root).localname
        is_export = KINDS[message_type].direction == "export"
        signature.sign_enveloped(
            root,
            private_key=self.private_key,
            certificate_der=self.certificate_der,
            algorithm=self.algorithm,
            key_name="0001",
            before="{http://www.chinaport.gov.cn/ceb}ExtendMessage" if is_export else None,
        )
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    @property
    def pem(self) -> str:
        import base64

        b64 = base64.encodebytes(self.certificate_der).decode()
        return f"-----BEGIN CERTIFICATE-----\n{b64}-----END CERTIFICATE-----\n"


def read_topic(settings: object, topic: str, count: int, timeout_s: float = 20) -> list[Any]:
    """The first `count` records of a topic, read by a fresh consumer group from the start."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,  # type: ignore[attr-defined]
        group_id=f"reader-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        max_poll_interval_ms=2000,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    records: list[Any] = []

    def enough() -> bool:
        records.extend(r for b in consumer.poll(timeout_ms=100).values() for r in b)
        return len(records) >= count

    try:
        wait_for(enough, timeout_s=timeout_s)
    finally:
        # Bounded: an unanswered LeaveGroup would otherwise hold each reader a request timeout.
        consumer.close(timeout_ms=2_000)
    return records
