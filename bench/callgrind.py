"""Instructions instead of time: a bench's stage counted under valgrind's callgrind.

CPU time on the development machine varied by up to a fifth within minutes; the count of the
same code on the same input varies by about 0.2% between runs, whatever else the machine does,
so a change of a percent or two shows. It is not time: a cache miss or a system call's wait
costs no instruction, so what it finds is to be confirmed in time too. A bench with
`--instructions` runs itself again under callgrind (`run`), with counting off but in the stage
named (`counting`), which covers the process's threads and the libraries they call (SQLite,
lxml, OpenSSL). About 60 times as slow as the bench.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Set for the run under callgrind: the stage to count, and the file its count of declarations
# goes to (callgrind writes its own output file when the process ends).
STAGE = "BENCH_CALLGRIND_STAGE"
_COUNT_FILE = "BENCH_CALLGRIND_COUNT"


def under_callgrind() -> bool:
    """Whether this process is the run under callgrind."""
    return STAGE in os.environ


def _switch(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "--instr=" + ("on" if on else "off"), str(os.getpid())],
        check=True,
        capture_output=True,
    )


@contextmanager
def counting(stage: str, declarations: int) -> Iterator[None]:
    """Count the instructions of the block if it is the stage the run under callgrind counts
    (`declarations`: what the count is divided by); elsewhere nothing."""
    if os.environ.get(STAGE) != stage:
        yield
        return
    _switch(True)
    try:
        yield
    finally:
        _switch(False)
    Path(os.environ[_COUNT_FILE]).write_text(str(declarations))


def without_option(argv: list[str], option: str) -> list[str]:
    """The command line without `option` and its value (`--option X`, `--option=X`, or a
    prefix argparse would take for it)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        name = arg.split("=")[0]
        if skip:
            skip = False
        elif len(name) > 2 and option.startswith(name):
            skip = "=" not in arg
        else:
            kept.append(arg)
    return kept


def run(module: str, stage: str, argv: list[str]) -> None:
    """Run `python -m module argv` under callgrind, counting `stage`; print the count per
    declaration after the run's first line (what was run, on which Python)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--instructions needs valgrind (Debian's package valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out, count_file = Path(folder) / "callgrind.out", Path(folder) / "count"
        env = {**os.environ, STAGE: stage, _COUNT_FILE: str(count_file)}
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            module,
            *argv,
        ]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not count_file.exists():
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"the run under callgrind failed (exit {done.returncode})")
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        instructions, count = int(totals[0].split()[1]), int(count_file.read_text())
    print(done.stdout.splitlines()[0])
    print(
        f"{stage:<8} {instructions / count / 1e6:7.3f} M instructions per declaration "
        f"(callgrind, {count} declarations, {time.perf_counter() - started:.0f} s)"
    )
