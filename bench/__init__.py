"""Benchmarks of the platform (`python -m bench.<name>`); each prints its figures."""

from __future__ import annotations

import sys


def interpreter() -> str:
    """The Python the figures were taken on: its version and where it is installed (a
    distribution's build and a version manager's default build differ by 15-18%, README)."""
    return f"Python {sys.version.split()[0]} from {sys.base_prefix}"
