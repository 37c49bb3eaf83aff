"""The garbage collector's settings for a service's long-running process.

Python's cyclic collector runs a young collection every 700 net new container objects and, now
and then, a full one over every object the process holds: the modules, pydantic's schemas,
SQLAlchemy's tables and compiled statements, tens of thousands of objects that live as long as
the process. A service allocates at a high rate (rows, events, parsed documents), so its
collector ran about 40 times a second, and each full collection walked all of that again.
Measured with bench.e2e at 250 declarations/s offered (2026-11-24, the 2-core machine): the
collector took 8% of the customs API's CPU (a full collection about 80 ms), 6.5% of the
customs worker's, 10% of the gateway worker's.

`settle()`, once the process has imported what it runs, collects once, moves every object
then alive out of the collector's sight for good (`gc.freeze`: they are never garbage), and
raises the young threshold so a collection runs after `YOUNG_THRESHOLD` net new objects: the
same run then saw about 300 young collections and 3 full ones in the customs API (which
allocates most), 0.2-0.3 s of CPU per process instead of 1-2.5 s. Cycles are still collected;
at most `YOUNG_THRESHOLD` objects more wait for it.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
OLDER_THRESHOLDS = (20, 20)  # young collections per middle one, middle per full


def settle() -> None:
    """Freeze what the process holds now and collect less often from here on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
