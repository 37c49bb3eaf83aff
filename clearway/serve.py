"""`python -m clearway.serve PACKAGE.MODULE:FACTORY [uvicorn options]`: a service's API.

What `uvicorn --factory PACKAGE.MODULE:FACTORY ...` does, in a process whose garbage collector
is set for a long-running service (`clearway.collector`) once the factory's module is imported,
and which keeps an idle connection open for KEEP_ALIVE_S unless told otherwise.
"""

from __future__ import annotations

import importlib
import sys

from uvicorn.main import main as uvicorn_cli

from clearway import collector

# How long an idle keep-alive connection stays open (uvicorn's --timeout-keep-alive, 5 s by
# default). A client that reuses a connection must let it go sooner, or it may send a request
# just as the server closes the connection and get a read error instead of an answer: the
# gateway did, once in 71,000 declarations at 300/s (bench.e2e), when both said 5 s. The
# gateway's own clients of the services behind it let go after gateway.upstream.IDLE_S.
KEEP_ALIVE_S = 30


def main(argv: list[str]) -> None:
    """Import the factory's module, settle the collector, then run uvicorn with `argv`."""
    if not argv or ":" not in argv[0]:
        raise SystemExit("usage: python -m clearway.serve PACKAGE.MODULE:FACTORY [uvicorn options]")
    importlib.import_module(argv[0].partition(":")[0])  # what it imports lives as long as we do
    collector.settle()
    if not any(arg.startswith("--timeout-keep-alive") for arg in argv):
        argv = [*argv, "--timeout-keep-alive", str(KEEP_ALIVE_S)]
    uvicorn_cli.main(args=["--factory", *argv], prog_name="clearway.serve")


if __name__ == "__main__":
    main(sys.argv[1:])
