"""`clearway up`: the environment each of its processes starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearway import cli
from clearway.broker import free_port


def _arenas(data: Path) -> set[str]:
    return {
        child.env["MALLOC_ARENA_MAX"] for child in cli._plan(data, "127.0.0.1", free_port(), {})
    }


def test_every_process_keeps_malloc_to_two_arenas_unless_the_environment_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert _arenas(tmp_path) == {"2"}
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert _arenas(tmp_path) == {"8"}
