"""`python -m clearway.serve PACKAGE.MODULE:FACTORY [uvicorn options]`: a service's API.

What `uvicorn --factory PACKAGE.MODULE:FACTORY ...` does, in a process whose garbage collector
is set for a long-running service (`clearway.collector`) once the factory's module is imported.
"""

from __future__ import annotations

import importlib
import sys

from uvicorn.main import main as uvicorn_cli

from clearway import collector


def main(argv: list[str]) -> None:
    """Import the factory's module, settle the collector, then run uvicorn with `argv`."""
    if not argv or ":" not in argv[0]:
        raise SystemExit("usage: python -m clearway.serve PACKAGE.MODULE:FACTORY [uvicorn options]")
    importlib.import_module(argv[0].partition(":")[0])  # what it imports lives as long as we do
    collector.settle()
    uvicorn_cli.main(args=["--factory", *argv], prog_name="clearway.serve")


if __name__ == "__main__":
    main(sys.argv[1:])
