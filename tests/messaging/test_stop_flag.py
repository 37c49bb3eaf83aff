"""A stop request from a signal handler ends the main thread's wait (`messaging.worker.StopFlag`,
which the handler sets without taking a lock)."""

from __future__ import annotations

import signal
import time

from messaging.worker import StopFlag


def test_a_signal_during_the_wait_ends_it_at_once():
    flag = StopFlag()
    previous = signal.signal(signal.SIGALRM, lambda _signum, _frame: flag.set())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = time.monotonic()
        assert flag.wait(5.0) is True
        waited = time.monotonic() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert 0.15 <= waited < 1.0
    assert flag.is_set()


def test_without_a_request_the_wait_times_out():
    flag = StopFlag()
    started = time.monotonic()
    assert flag.wait(0.25) is False
    assert time.monotonic() - started >= 0.25
