"""How customs writes times and numbers it assigns: China time, the spec's formats."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

_CHINA = timezone(timedelta(hours=8))


def china_time(at: datetime) -> datetime:
    """A UTC instant as customs' local time (China, UTC+8, no daylight saving)."""
    return at.astimezone(_CHINA)


def return_time(at: datetime) -> str:
    """`returnTime` as customs writes it: China time, YYYYMMDDhhmmssSSS."""
    local = china_time(at)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def pre_entry_numbers(at: datetime, document_ids: Sequence[uuid.UUID]) -> list[str]:
    """Pre-entry numbers (`preNo`) for documents registered at `at`: B + YYYYMMDD (China time)
    + 9 digits, unique with each document's id (the last nine digits of its integer)."""
    day = "B" + china_time(at).strftime("%Y%m%d")
    return [f"{day}{document_id.int % 10**9:09d}" for document_id in document_ids]
