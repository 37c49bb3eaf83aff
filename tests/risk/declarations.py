"""Declarations as risk receives them, built from the contract's example with changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.events import DeclarationReadyV1

EXAMPLE = Path(__file__).resolve().parents[2] / "schemas/examples/customs.declaration_ready.v1.json"


def declaration(**changes: Any) -> DeclarationReadyV1:
    """The example declaration with payload fields replaced; `lines=` lists changes to the
    example line, one mapping per line."""
    payload = json.loads(EXAMPLE.read_text())["payload"]
    lines = changes.pop("lines", None)
    payload.update(changes)
    if lines is not None:
        payload["lines"] = [
            {**payload["lines"][0], "gnum": n, **line} for n, line in enumerate(lines, start=1)
        ]
    return DeclarationReadyV1.model_validate(payload)
