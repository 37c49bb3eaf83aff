"""`clearway up`: the whole platform as processes, on free ports, from one command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from clearway.broker import free_port
from tests.support import postgres_database, sample, unsigned, wait_for

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _start(
    data: Path, port: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    """`clearway up` in a child process, once it says it is up (its output so far)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clearway.cli", "--data-dir", str(data), "up", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
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
    return process, output


@contextmanager
def platform(
    tmp_path: Path, env: dict[str, str], stop_signal: int = signal.SIGTERM
) -> Iterator[tuple[str, dict, list[str]]]:
    port = free_port()
    data = tmp_path / "data"
    process, output = _start(data, port, env)
    try:
        state = json.loads((data / "clearway.json").read_text())
        yield f"http://127.0.0.1:{port}", state, output
    finally:
        if process.poll() is None:
            process.send_signal(stop_signal)
        rest, _ = process.communicate(timeout=30)
        output.append(rest)
    assert process.returncode == 0, "".join(output)


@pytest.fixture(
    params=[("sqlite", signal.SIGINT), ("postgresql", signal.SIGTERM)],
    ids=["sqlite-ctrl-c", "postgresql-sigterm"],
)
def setup(request) -> Iterator[tuple[dict[str, str], int]]:
    """The databases to run on (own SQLite files, or PostgreSQL URLs) and how to stop."""
    kind, stop_signal = request.param
    if kind == "sqlite":
        yield {}, stop_signal
        return
    with ExitStack() as stack:
        env = {
            "CUSTOMS_DATABASE_URL": stack.enter_context(postgres_database()),
            "RISK_DATABASE_URL": stack.enter_context(postgres_database()),
        }
        yield env, stop_signal


def test_clearway_up_runs_the_sample_order_to_receipt_120_and_into_risk(tmp_path, setup):
    with platform(tmp_path, *setup) as (url, state, output):
        processes = {p["name"]: p for p in state["processes"]}
        assert set(processes) == {
            "customs-api",
            "customs-worker",
            "risk-api",
            "risk-worker",
            "gateway-api",
            "gateway-worker",
        }
        assert any("healthy after" in line for line in output)
        admin_key = json.loads((tmp_path / "data" / "secrets.json").read_text())[
            "GATEWAY_ADMIN_API_KEY"
        ]
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/health").json()["status"] == "ok"
            assert client.get("/api/v1/receipts").status_code == 401
            admin = {"Authorization": f"Bearer {admin_key}"}
            tenant = client.post(
                "/api/v1/admin/tenants",
                json={"name": "Sample", "codes": ["1101180326"], "roles": ["ecommerce_platform"]},
                headers=admin,
            ).json()
            key = client.post(
                f"/api/v1/admin/tenants/{tenant['id']}/api-keys", json={"name": "t"}, headers=admin
            ).json()["key"]
            client.headers["Authorization"] = f"Bearer {key}"
            submitted = client.post(
                "/api/v1/messages",
                content=unsigned(sample("import", "CEB311Message")),
                headers={"Content-Type": "application/xml"},
            )
            sent_at = time.monotonic()
            assert submitted.status_code == 202, submitted.text
            reference = submitted.json()["documents"][0]["reference"]
            receipt = wait_for(
                lambda: (
                    (r := client.get(f"/api/v1/receipts/{reference}").json())["returnStatus"] == 120
                    and r
                ),
                timeout_s=2,
            )
            took = time.monotonic() - sent_at
            assert [h["returnStatus"] for h in receipt["history"]] == [2, 120]
            xml = client.get(f"/api/v1/receipts/{reference}", params={"format": "xml"})
            assert b"<ceb:returnStatus>120</ceb:returnStatus>" in xml.content

        risk_api = processes["risk-api"]["health"].removesuffix("/health")
        observed = wait_for(
            lambda: (
                (r := httpx.get(f"{risk_api}/v1/observations/{reference}")).status_code == 200
                and r.json()
            ),
            timeout_s=5,
        )
        assert observed["businessKey"] == "order20160321116421002"

        status = subprocess.run(
            [sys.executable, "-m", "clearway.cli", "--data-dir", state["data_dir"], "status"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert status.returncode == 0, status.stdout
        assert status.stdout.count("healthy") == 6
        pids = [p["pid"] for p in state["processes"]] + [state["broker_pid"]]
        assert all(_alive(pid) for pid in pids)
    print(f"receipt 120 after {took * 1000:.0f} ms")
    assert not [pid for pid in pids if _alive(pid)], "child processes outlived clearway up"
    assert not (Path(state["data_dir"]) / "clearway.json").exists()


def test_clearway_status_says_when_nothing_runs(tmp_path):
    status = subprocess.run(
        [sys.executable, "-m", "clearway.cli", "--data-dir", str(tmp_path), "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert status.returncode == 1
    assert "not running" in status.stdout


def test_no_process_outlives_a_killed_clearway_up(tmp_path):
    data = tmp_path / "data"
    process, _ = _start(data, free_port())
    state = json.loads((data / "clearway.json").read_text())
    pids = [p["pid"] for p in state["processes"]] + [state["broker_pid"]]
    process.kill()
    process.communicate(timeout=10)
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout_s=20)
