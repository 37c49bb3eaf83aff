"""The services' processes settle their garbage collector (`clearway.collector`).

Each check runs in a child process: settling freezes what a process holds, which the test
session must not do to itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from clearway import collector
from tests.support import served

ROOT = Path(__file__).resolve().parents[1]

# A factory for `clearway.serve` whose app reports its process's collector.
PROBE_APP = """
import gc
from fastapi import FastAPI

def create_app():
    app = FastAPI()

    @app.get("/gc")
    def state():
        return {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}

    return app
"""


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_settling_freezes_what_is_alive_and_collects_less_often_but_still_collects():
    out = _python(
        "import gc, json\n"
        "from clearway import collector\n"
        "before = gc.get_threshold()\n"
        "collector.settle()\n"
        "class Node: pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"  # a cycle made after settling
        "del a, b\n"
        "print(json.dumps({'before': before, 'after': gc.get_threshold(),\n"
        "    'frozen': gc.get_freeze_count(), 'enabled': gc.isenabled(),\n"
        "    'collected': gc.collect()}))\n"
    )
    state = json.loads(out)
    assert state["before"][0] < collector.YOUNG_THRESHOLD
    assert state["after"] == [collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS]
    assert state["frozen"] > 1_000  # the modules and classes imported before
    assert state["enabled"]
    assert state["collected"] >= 2  # the cycle is still garbage the collector finds


def test_an_api_served_by_clearway_serve_runs_with_the_collector_settled(tmp_path):
    (tmp_path / "gc_probe_app.py").write_text(PROBE_APP)
    with (
        served(
            tmp_path, "gc_probe_app:create_app", "--log-level", "warning", ready_path="/gc"
        ) as port,
        urllib.request.urlopen(f"http://127.0.0.1:{port}/gc", timeout=5) as answer,
    ):
        state = json.load(answer)
    assert state["threshold"] == [collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS]
    assert state["frozen"] > 10_000


def test_clearway_serve_refuses_a_command_line_without_a_factory():
    done = subprocess.run(
        [sys.executable, "-m", "clearway.serve", "--port", "8000"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PACKAGE.MODULE:FACTORY" in done.stderr
