"""A worker killed between its database commit and its offset commit has exactly one effect."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from schemas.topics import CUSTOMS_INBOUND
from tests.messaging.harness import effects, publish, received

ROOT = Path(__file__).resolve().parents[2]


def _worker(broker, database_url: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.messaging.crash_worker",
            "--bootstrap",
            broker.settings.bootstrap_servers,
            "--database-url",
            database_url,
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_a_worker_killed_after_its_db_commit_has_exactly_one_effect_after_restart(
    broker, database_url, engine, tmp_path
):
    events = [received(key="order-1") for _ in range(3)]
    publish(
        broker.settings,
        CUSTOMS_INBOUND.name,
        *[(e.key.encode(), e.model_dump_json().encode()) for e in events],
    )

    crashed = _worker(broker, database_url, "--crash")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    committed_before_crash = effects(engine)
    assert committed_before_crash >= 1

    stats_file = tmp_path / "stats.json"
    restarted = _worker(broker, database_url, "--expect", "3", "--stats", str(stats_file))
    assert restarted.returncode == 0, restarted.stderr.decode()[-2000:]
    stats = json.loads(stats_file.read_text())

    # The batch whose offsets were never committed came back and was recognised.
    assert stats["duplicates"] == committed_before_crash
    assert stats["processed"] == 3 - committed_before_crash
    for event in events:
        assert effects(engine, event.payload.document_id) == 1
