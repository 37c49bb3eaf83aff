"""The import tariff: HS code → duty, VAT and consumption-tax rates, parsed from CSV text.

The loader is pure: it parses text and the caller reads the file (the default table ships as
`customs/tariff/default-tariff.csv`; its rates are illustrative only).

CSV format (one header row, then one row per tariff entry; `#` lines and blank lines ignored;
a field may be quoted but may not span lines):

    hs_code,description,duty_rate,vat_rate,consumption_rate[,ct_min_price_per_ml_g][,ct_min_price_per_piece]

- `hs_code`: 2, 4, 6, 8 or 10 digits (chapter, heading, subheading, tariff line, statistical
  code). A lookup by a 10-digit `gcode` (CEB621 InventoryList) takes the longest entry that is a
  prefix of it: the 10-digit code, then the 8-digit tariff line, then 6, 4, 2 digits.
- rates are decimal fractions (`0.13` for 13 %): `duty_rate` in [0, 1] (the applied MFN or
  provisional duty, charged only when a declaration is taxed in full), `vat_rate` and
  `consumption_rate` in [0, 1).
- `ct_min_price_*` (optional, blank = none): the consumption tax applies only to goods whose
  dutiable price is at or above the threshold, per ml or g of content, or per piece/sheet
  (high-end cosmetics: 10 CNY per ml(g) or 15 CNY per piece(sheet); high-end watches: 10,000 CNY
  per piece). Without thresholds, `consumption_rate` always applies.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

REQUIRED_COLUMNS = ("hs_code", "description", "duty_rate", "vat_rate", "consumption_rate")
OPTIONAL_COLUMNS = ("ct_min_price_per_ml_g", "ct_min_price_per_piece")
PREFIX_LENGTHS = (10, 8, 6, 4, 2)


class TariffError(ValueError):
    """The tariff text is malformed; the message names the line and the column."""


class UnknownHsCode(LookupError):
    """No tariff entry covers this HS code (neither the full code nor any shorter prefix)."""

    def __init__(self, hs_code: str) -> None:
        self.hs_code = hs_code
        super().__init__(hs_code)

    def __str__(self) -> str:
        return (
            f"unknown HS code {self.hs_code}: no tariff entry for it or any of its prefixes "
            f"({', '.join(self.hs_code[:n] for n in PREFIX_LENGTHS[1:])})"
        )


@dataclass(frozen=True, slots=True)
class TariffLine:
    """One tariff entry. Rates are fractions; thresholds are CNY of dutiable price."""

    hs_code: str
    description: str
    duty_rate: Decimal
    vat_rate: Decimal
    consumption_rate: Decimal
    ct_min_price_per_ml_g: Decimal | None = None
    ct_min_price_per_piece: Decimal | None = None

    @property
    def has_ct_threshold(self) -> bool:
        return self.ct_min_price_per_ml_g is not None or self.ct_min_price_per_piece is not None


@dataclass(frozen=True, slots=True, eq=False)
class Tariff:
    """Tariff entries by HS code (any of 2/4/6/8/10 digits); see `lookup`."""

    entries: Mapping[str, TariffLine]

    @classmethod
    def from_csv(cls, text: str) -> Tariff:
        """Parse the CSV text described in the module docstring; raise `TariffError` if bad."""
        entries: dict[str, TariffLine] = {}
        seen_at: dict[str, int] = {}
        header: list[str] | None = None
        for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            row = [cell.strip() for cell in next(csv.reader([raw]))]
            if header is None:
                header = _header(row, number)
                continue
            if len(row) != len(header):
                raise TariffError(
                    f"tariff line {number}: {len(row)} fields, the header has {len(header)}"
                )
            entry = _entry(dict(zip(header, row, strict=True)), number)
            if entry.hs_code in entries:
                raise TariffError(
                    f"tariff line {number}: HS code {entry.hs_code} already given on line "
                    f"{seen_at[entry.hs_code]}"
                )
            entries[entry.hs_code] = entry
            seen_at[entry.hs_code] = number
        if header is None:
            raise TariffError("tariff text has no header row")
        return cls(MappingProxyType(entries))

    def lookup(self, hs_code: str) -> TariffLine:
        """The entry for a 10-digit `gcode`: the full code, else the longest listed prefix."""
        if len(hs_code) != 10 or not hs_code.isascii() or not hs_code.isdigit():
            raise ValueError(f"gcode must be 10 digits, got {hs_code!r}")
        for length in PREFIX_LENGTHS:
            entry = self.entries.get(hs_code[:length])
            if entry is not None:
                return entry
        raise UnknownHsCode(hs_code)

    def __len__(self) -> int:
        return len(self.entries)


def _header(row: list[str], number: int) -> list[str]:
    missing = [c for c in REQUIRED_COLUMNS if c not in row]
    unknown = [c for c in row if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(row)) != len(row):
        raise TariffError(
            f"tariff line {number}: header must be {','.join(REQUIRED_COLUMNS)} "
            f"[,{','.join(OPTIONAL_COLUMNS)}]; missing {missing}, unknown {unknown}"
        )
    return row


def _entry(fields: dict[str, str], number: int) -> TariffLine:
    hs_code = fields["hs_code"]
    if len(hs_code) not in PREFIX_LENGTHS or not hs_code.isascii() or not hs_code.isdigit():
        raise TariffError(f"tariff line {number}: hs_code {hs_code!r} is not 2/4/6/8/10 digits")
    if not fields["description"]:
        raise TariffError(f"tariff line {number}: HS code {hs_code} has no description")
    duty = _rate(fields, "duty_rate", number, hs_code, one_allowed=True)
    vat = _rate(fields, "vat_rate", number, hs_code, one_allowed=False)
    ct = _rate(fields, "consumption_rate", number, hs_code, one_allowed=False)
    per_ml_g = _threshold(fields, "ct_min_price_per_ml_g", number, hs_code)
    per_piece = _threshold(fields, "ct_min_price_per_piece", number, hs_code)
    if (per_ml_g is not None or per_piece is not None) and ct == 0:
        raise TariffError(
            f"tariff line {number}: HS code {hs_code} has a consumption-tax threshold "
            "but no consumption_rate"
        )
    return TariffLine(hs_code, fields["description"], duty, vat, ct, per_ml_g, per_piece)


def _decimal(text: str, column: str, number: int, hs_code: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise TariffError(
            f"tariff line {number}: HS code {hs_code}: {column} {text!r} is not a decimal"
        ) from None
    if not value.is_finite():
        raise TariffError(f"tariff line {number}: HS code {hs_code}: {column} {text!r} not finite")
    return value


def _rate(
    fields: dict[str, str],
    column: str,
    number: int,
    hs_code: str,
    *,
    one_allowed: bool,
) -> Decimal:
    value = _decimal(fields[column], column, number, hs_code)
    if value < 0 or value > 1 or (value == 1 and not one_allowed):
        bound = "[0, 1]" if one_allowed else "[0, 1)"
        raise TariffError(
            f"tariff line {number}: HS code {hs_code}: {column} {value} is outside {bound} "
            "(rates are fractions: 0.13 for 13%)"
        )
    return value


def _threshold(fields: dict[str, str], column: str, number: int, hs_code: str) -> Decimal | None:
    text = fields.get(column, "")
    if not text:
        return None
    value = _decimal(text, column, number, hs_code)
    if value <= 0:
        raise TariffError(f"tariff line {number}: HS code {hs_code}: {column} must be > 0")
    return value
