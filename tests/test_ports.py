"""`clearway up` gives each service's API and each worker's health endpoint a port of its own,
never the public one: two services once got the same port, and the one that could not bind it
was taken for up by the other's health check (bench.e2e: the gateway's URL answered by the
customs API, 404 for the tenants)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from clearway import broker, cli


class _Kernel:
    """Hands out the lowest port no open socket holds: a port let go of is the next one given,
    as a real system may do (it did in bench.e2e)."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.held: set[int] = set()

    def socket(self, *_args: Any) -> _Socket:
        return _Socket(self)


class _Socket:
    def __init__(self, kernel: _Kernel) -> None:
        self.kernel = kernel
        self.port: int | None = None

    def bind(self, address: tuple[str, int]) -> None:
        assert address[1] == 0
        port = self.kernel.first
        while port in self.kernel.held:
            port += 1
        self.port = port
        self.kernel.held.add(port)

    def getsockname(self) -> tuple[str, int]:
        assert self.port is not None
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        if self.port is not None:
            self.kernel.held.discard(self.port)

    def __enter__(self) -> _Socket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> _Kernel:
    fake = _Kernel(first=40_000)
    monkeypatch.setattr(
        broker,
        "socket",
        SimpleNamespace(socket=fake.socket, AF_INET=socket.AF_INET, SOCK_STREAM=socket.SOCK_STREAM),
    )
    return fake


def test_free_ports_are_different_even_where_a_released_port_is_handed_out_again(
    kernel: _Kernel,
) -> None:
    assert [broker.free_port() for _ in range(3)] == [40_000] * 3  # what bit `clearway up`
    assert broker.free_ports(3) == [40_000, 40_001, 40_002]
    assert broker.free_ports(2, avoid=(40_000, 40_002)) == [40_001, 40_003]
    assert kernel.held == set()  # every socket let go of


def test_every_process_of_clearway_up_gets_its_own_port_and_never_the_public_one(
    kernel: _Kernel, tmp_path: Path
) -> None:
    public = broker.free_port()  # as bench.e2e picks it: nothing listens on it yet
    children = cli._plan(tmp_path, "127.0.0.1", public, {})
    found = [re.search(r":(\d+)/health$", c.health_url or "") for c in children]
    ports = [int(m[1]) for m in found if m is not None]
    assert len(children) == 6 and len(set(ports)) == len(ports)
    public_health = [c.name for c, p in zip(children, ports, strict=True) if p == public]
    assert public_health == ["gateway-api"]


def test_the_ports_are_free_on_this_machine() -> None:
    ports = broker.free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:  # each can be listened on
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
            sock.listen()
