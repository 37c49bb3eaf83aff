"""How long the customs API's threads keep the GIL when another wants it.

A thread that releases the GIL around every call into SQLite or a socket (the customs API's
group-commit writer: a few dozen statements per group) waits to get it back while CPU-bound
threads (parsing, XSD, signatures) run, each for up to the switch interval: 5 ms by default,
paid at every statement. bench.e2e with 16 clients at 300 declarations/s offered: the customs
API decided 218/s with 5 ms, 248/s with 1 ms, 262/s with 0.5 ms (p99 0.8 s each time, the API
at the same 63% of a core). Set in the workers too it made no difference that the bench
could tell (237/s against 230-262/s), so they keep Python's default. Since the writer checks
its group's messages in its own turn (`customs.service.check_and_write`), the threads it waits
on are the event loop's and the outbox relay's: at 1,000/s offered 0.1 ms decided 457/s,
0.5 ms 485/s, 5 ms 480/s (one run each): 0.5 ms is kept.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.0005


def prefer_short_turns() -> None:
    """Let a thread waiting for the GIL have it after 0.5 ms instead of 5 ms."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
