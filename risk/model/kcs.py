"""Rows of the Korea Customs Service synthetic import declarations (Jeong et al., 2022, MIT) as
`Declared` facts, with their fraud label.

Column mapping onto the platform's roles: Importer ID -> importer (the buyer), Seller ID ->
seller (the e-commerce enterprise), Declarant ID -> declarant (the customs broker), Courier ID ->
courier (the logistics company), HS6 Code -> hs_code, Country of Origin / Departure, Mode of
Transport, Import Type -> trade_mode, Office ID -> office, Net Mass (kg), Item Price (value),
Tax Rate (percent). Tax Type, Import Use, Payment Type and Country of Origin Indicator are kept as
source-specific categories. A bad row raises KcsRowInvalid naming the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from risk.model.features import Declared

REQUIRED = (
    "Declaration ID",
    "Date",
    "Office ID",
    "Import Type",
    "Import Use",
    "Payment Type",
    "Mode of Transport",
    "Declarant ID",
    "Importer ID",
    "Seller ID",
    "Courier ID",
    "HS6 Code",
    "Country of Departure",
    "Country of Origin",
    "Tax Rate",
    "Tax Type",
    "Country of Origin Indicator",
    "Net Mass",
    "Item Price",
    "Fraud",
)


class KcsRowInvalid(ValueError):
    """A row or header of a KCS file breaks a rule; the message names the line and column."""


@dataclass(frozen=True, slots=True)
class LabelledRow:
    """One KCS declaration and whether its inspection found fraud."""

    declared: Declared
    fraud: bool


def _number(raw: str, column: str, where: str, *, required: bool) -> float | None:
    if raw == "":
        if required:
            raise KcsRowInvalid(f"{where}, column {column!r}: a number is required")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise KcsRowInvalid(f"{where}, column {column!r}: {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise KcsRowInvalid(f"{where}, column {column!r}: {raw!r} must be a number >= 0")
    return value


def parse_row(row: dict[str, str], where: str) -> LabelledRow:
    """One CSV row (by column name) as facts and label; `where` names it in errors."""
    try:
        day = date.fromisoformat(row["Date"])
    except ValueError:
        raise KcsRowInvalid(
            f"{where}, column 'Date': {row['Date']!r} is not a date (YYYY-MM-DD)"
        ) from None
    hs = row["HS6 Code"].strip()
    if not (hs.isdigit() and len(hs) in (5, 6)):
        raise KcsRowInvalid(f"{where}, column 'HS6 Code': {hs!r} is not a 6-digit HS code")
    fraud = row["Fraud"].strip()
    if fraud not in ("0", "1"):
        raise KcsRowInvalid(f"{where}, column 'Fraud': {fraud!r} must be 0 or 1")
    value = _number(row["Item Price"], "Item Price", where, required=True)
    assert value is not None
    parties = {
        "importer": row["Importer ID"],
        "seller": row["Seller ID"],
        "declarant": row["Declarant ID"],
        "courier": row["Courier ID"],
    }
    declared = Declared(
        ref=row["Declaration ID"],
        day=day,
        hs_code=hs.zfill(6),
        value=value,
        origin_country=row["Country of Origin"] or None,
        departure_country=row["Country of Departure"] or None,
        transport_mode=row["Mode of Transport"] or None,
        trade_mode=row["Import Type"] or None,
        office=row["Office ID"] or None,
        net_mass_kg=_number(row["Net Mass"], "Net Mass", where, required=False),
        tax_rate=_number(row["Tax Rate"], "Tax Rate", where, required=False),
        parties={role: v for role, v in parties.items() if v},
        extra={
            "tax_type": row["Tax Type"],
            "import_use": row["Import Use"],
            "payment_type": row["Payment Type"],
            "origin_indicator": row["Country of Origin Indicator"],
        },
    )
    return LabelledRow(declared=declared, fraud=fraud == "1")


def read_rows(path: Path) -> Iterator[LabelledRow]:
    """The rows of one KCS CSV file, in file order."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise KcsRowInvalid(f"{path.name}: missing column(s) {', '.join(map(repr, missing))}")
        for line, row in enumerate(reader, start=2):
            yield parse_row(row, f"{path.name} line {line}")


def read_files(paths: list[Path]) -> list[LabelledRow]:
    """The rows of several files, in time order (stable: file order within a day)."""
    rows = [row for path in paths for row in read_rows(path)]
    return sorted(rows, key=lambda r: r.declared.day)
