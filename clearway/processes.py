"""Child processes that never outlive the `clearway` process that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def child_preexec() -> None:
    """In the child: die with SIGTERM when the parent dies, even if it is SIGKILLed (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()  # Ctrl-C in the terminal reaches only `clearway`, which stops children in order


def stop(*processes: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM to all at once, SIGKILL to those still running after `timeout_s`; reap them."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
