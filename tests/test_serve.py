"""`clearway.serve` keeps idle connections open longer than the gateway keeps them for reuse, so
that the gateway never sends a request on a connection the service is closing."""

from __future__ import annotations

import re
import socket
import time

import pytest

from clearway.serve import KEEP_ALIVE_S
from gateway import upstream
from tests.support import served

PING_APP = """
from fastapi import FastAPI

def create_app():
    app = FastAPI()

    @app.get("/ping")
    def ping():
        return {"ok": True}

    return app
"""
REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _ask(connection: socket.socket) -> bytes:
    """One request on an open connection: the answer's status line, read with its whole body
    (b"" if the server had closed the connection)."""
    connection.sendall(REQUEST)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            return b""
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    declared = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
    assert declared is not None, head
    while len(body) < int(declared.group(1)):
        body += connection.recv(4096)
    return head.split(b"\r\n", 1)[0]


@pytest.fixture
def ping_app(tmp_path):
    (tmp_path / "ping_app.py").write_text(PING_APP)
    return tmp_path


def test_a_served_api_keeps_an_idle_connection_past_uvicorns_five_seconds(ping_app):
    with (
        served(ping_app, "ping_app:create_app", ready_path="/ping") as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as connection,
    ):
        assert _ask(connection) == b"HTTP/1.1 200 OK"
        time.sleep(6)  # idle longer than uvicorn's default keep-alive
        assert _ask(connection) == b"HTTP/1.1 200 OK"  # the same connection answers


def test_a_keep_alive_given_on_the_command_line_is_kept(ping_app):
    with (
        served(
            ping_app, "ping_app:create_app", "--timeout-keep-alive", "1", ready_path="/ping"
        ) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as connection,
    ):
        assert _ask(connection) == b"HTTP/1.1 200 OK"
        time.sleep(2)
        try:
            answer = _ask(connection)
        except ConnectionError:
            answer = b""
        assert answer == b""  # closed after the second it was given


def test_the_gateway_lets_an_idle_connection_to_a_service_go_well_before_the_service_does():
    assert upstream.IDLE_S * 2 <= KEEP_ALIVE_S
