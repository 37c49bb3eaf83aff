"""A bench's stage counted in instructions under callgrind (`bench.callgrind`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from bench.callgrind import without_option


@pytest.mark.parametrize(
    ("argv", "kept"),
    [
        (
            ["--group", "16", "--instructions", "submit", "--seed", "3"],
            ["--group", "16", "--seed", "3"],
        ),
        (["--instructions=routes", "--group", "2"], ["--group", "2"]),
        (["--instr", "submit"], []),
        (["--declarations", "20"], ["--declarations", "20"]),
        (["--in", "routes", "--i=x"], []),
    ],
)
def test_the_run_under_callgrind_gets_the_command_line_without_the_option(argv, kept):
    assert without_option(argv, "--instructions") == kept


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_only_the_stage_asked_for_is_counted_in_bench_customs_worker():
    """The routes of 20 declarations (about a million instructions each) are counted, not the
    imports, migrations and submissions before them (billions)."""
    command = ["-m", "bench.customs_worker", "--declarations", "20", "--instructions", "routes"]
    run = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found = re.search(
        r"^routes +([0-9.]+) M instructions per declaration \(callgrind, (\d+) declarations",
        run.stdout,
        re.MULTILINE,
    )
    assert found is not None, run.stdout
    per_declaration, count = float(found[1]), int(found[2])
    assert count == 20
    assert 0.1 < per_declaration < 10
