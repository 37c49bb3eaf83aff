"""How customs writes times and numbers it assigns: China time, the spec's formats."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

_CHINA = timezone(timedelta(hours=8))


def china_time(at: datetime) -> datetime:
    """A UTC instant as customs' local time (China, UTC+8, no daylight saving)."""
    return at.astimezone(_CHINA)


def return_time(at: datetime) -> str:
    """`returnTime` as customs writes it: China time, YYYYMMDDhhmmssSSS."""
    local = china_time(at)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def pre_entry_number(at: datetime, document_id: str) -> str:
    """A pre-entry number (`preNo`): B + YYYYMMDD + 9 digits, unique with the document id."""
    return "B" + china_time(at).strftime("%Y%m%d") + f"{uuid.UUID(document_id).int % 10**9:09d}"
