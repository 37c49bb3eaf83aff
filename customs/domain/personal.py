"""Buyer personal data: which fields hold it and how it is masked wherever it is shown."""

from __future__ import annotations

PERSONAL_FIELDS = frozenset(
    {
        "buyerIdNumber",
        "buyerName",
        "buyerTelephone",
        "buyerRegNo",
        "payerIdNumber",
        "payerName",
        "telephone",
        "consignee",
        "consigneeTelephone",
        "consigneeAddress",
    }
)


def mask(value: str) -> str:
    """Keep the first and last character of short values, the first 3 and last 4 of longer ones."""
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 8:
        return value[0] + "*" * (len(value) - 2) + value[-1]
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def shown(field: str, value: str) -> str:
    """A field's value as it may appear in an answer or a log line."""
    return mask(value) if field in PERSONAL_FIELDS else value
