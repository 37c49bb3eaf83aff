"""Model features of a declaration, as pure functions of the declaration and what came before.

A `Declared` is what the model reads of a declaration, whatever its source: the platform's
`DeclarationReadyV1` (`risk.model.platform`) or a row of the Korea Customs Service synthetic
data set (`risk.model.kcs`). Both give the same feature names where they carry the same facts.

History features (how often a party or HS code was seen, and how often its inspections found
something) come from a `History` fed strictly in time order: a declaration's features are read
before it is added, and a label counts only once it is added. So a row's features never depend
on its own outcome or on anything later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

# Who a declaration involves, by the role it has in the platform (KCS column in brackets):
# importer = the buyer (Importer ID), seller = the e-commerce enterprise (Seller ID),
# declarant = the customs broker filing the inventory (Declarant ID), courier = the logistics
# company (Courier ID).
PARTY_ROLES = ("importer", "seller", "declarant", "courier")
# Keys whose history becomes features: the parties, the goods and where they come from.
HISTORY_KEYS = (*PARTY_ROLES, "hs6", "origin_country", "hs6_origin")
# Categorical facts only some sources carry (the KCS data set's tax type, import use...).
EXTRA = ("tax_type", "import_use", "payment_type", "origin_indicator")
CATEGORICAL = (
    "hs2",
    "hs4",
    "origin_country",
    "departure_country",
    "transport_mode",
    "trade_mode",
    "office",
    *EXTRA,
)
NUMERIC = (
    "log_value",
    "log_net_mass",
    "log_value_per_kg",
    "log_quantity",
    "log_value_per_unit",
    "tax_rate",
    "origin_differs",
    "value_per_kg_vs_hs6",
    "value_vs_importer",
)
HISTORY = tuple(f"{key}_{what}" for key in HISTORY_KEYS for what in ("seen", "fraud_rate"))
FEATURE_NAMES: tuple[str, ...] = (*CATEGORICAL, *NUMERIC, *HISTORY)

SMOOTHING = 10.0  # pseudo-labels at the overall rate: few outcomes say little about a party


@dataclass(frozen=True, slots=True)
class Declared:
    """What the model reads of one declaration (amounts as floats: features, not money)."""

    ref: str
    day: date
    hs_code: str
    value: float
    origin_country: str | None = None
    departure_country: str | None = None
    transport_mode: str | None = None
    trade_mode: str | None = None
    office: str | None = None
    net_mass_kg: float | None = None
    quantity: float | None = None
    tax_rate: float | None = None  # percent of the value
    parties: Mapping[str, str] = field(default_factory=dict)  # role -> id, see PARTY_ROLES
    extra: Mapping[str, str] = field(default_factory=dict)  # tax_type, import_use, ...
    # `history_keys`, made when first asked for: the tallies ask three times a declaration
    _history_keys: Mapping[str, str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def history_keys(self) -> Mapping[str, str]:
        """The keys this declaration's history is kept under (missing ones left out)."""
        keys = self._history_keys
        if keys is None:
            keys = self._make_history_keys()
            object.__setattr__(self, "_history_keys", keys)
        return keys

    def _make_history_keys(self) -> dict[str, str]:
        keys = {role: v for role, v in self.parties.items() if role in PARTY_ROLES and v}
        hs6 = self.hs_code[:6]
        if len(hs6) == 6:
            keys["hs6"] = hs6
            if self.origin_country:
                keys["hs6_origin"] = f"{hs6}/{self.origin_country}"
        if self.origin_country:
            keys["origin_country"] = self.origin_country
        return keys


Value = float | str | None


@dataclass(slots=True)
class Tally:
    """Counts kept for one key: declarations seen, labelled, found; value sums."""

    seen: int = 0
    labelled: int = 0
    found: int = 0
    log_value_per_kg_sum: float = 0.0
    log_value_per_kg_count: int = 0
    log_value_sum: float = 0.0


@dataclass(slots=True)
class History:
    """What earlier declarations and their outcomes say, per key (a party, an HS code...)."""

    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)
    labelled: int = 0
    found: int = 0

    def prior(self) -> float:
        """The share of labelled declarations whose inspection found something."""
        return (self.found + 1.0) / (self.labelled + 5.0)

    def tally(self, kind: str, key: str) -> Tally | None:
        """The counts kept for one key, if it was seen."""
        return self.tallies.get((kind, key))

    def add(self, declared: Declared) -> None:
        """Count a declaration (after its features were read)."""
        per_kg = _log_per_kg(declared)
        log_value = math.log1p(max(declared.value, 0.0))
        tallies = self.tallies
        for kind_key in declared.history_keys().items():
            tally = tallies.get(kind_key)
            if tally is None:  # not setdefault: a Tally made for every key, most of them known
                tally = tallies[kind_key] = Tally()
            tally.seen += 1
            tally.log_value_sum += log_value
            if per_kg is not None:
                tally.log_value_per_kg_sum += per_kg
                tally.log_value_per_kg_count += 1

    def add_label(self, declared: Declared, found: bool) -> None:
        """Count an inspection outcome of a declaration already added."""
        self.labelled += 1
        self.found += int(found)
        for kind, key in declared.history_keys().items():
            tally = self.tallies.setdefault((kind, key), Tally())
            tally.labelled += 1
            tally.found += int(found)


def _log(value: float | None) -> float | None:
    return None if value is None or value < 0 else math.log1p(value)


def _log_per_kg(declared: Declared) -> float | None:
    if declared.net_mass_kg is None or declared.net_mass_kg <= 0:
        return None
    return math.log1p(max(declared.value, 0.0) / declared.net_mass_kg)


def features(declared: Declared, history: History) -> dict[str, Value]:
    """The named features of a declaration given what came before it (`history`)."""
    hs = declared.hs_code
    per_kg = _log_per_kg(declared)
    per_unit = (
        None
        if declared.quantity is None or declared.quantity <= 0
        else math.log1p(max(declared.value, 0.0) / declared.quantity)
    )
    origin, departure = declared.origin_country, declared.departure_country
    row: dict[str, Value] = {
        "hs2": hs[:2] or None,
        "hs4": hs[:4] if len(hs) >= 4 else None,
        "origin_country": origin,
        "departure_country": departure,
        "transport_mode": declared.transport_mode,
        "trade_mode": declared.trade_mode,
        "office": declared.office,
        **{name: declared.extra.get(name) for name in EXTRA},
        "log_value": _log(declared.value),
        "log_net_mass": _log(declared.net_mass_kg),
        "log_value_per_kg": per_kg,
        "log_quantity": _log(declared.quantity),
        "log_value_per_unit": per_unit,
        "tax_rate": declared.tax_rate,
        "origin_differs": None
        if origin is None or departure is None
        else float(origin != departure),
        "value_per_kg_vs_hs6": None,
        "value_vs_importer": None,
    }
    prior = history.prior()
    keys = declared.history_keys()
    for kind in HISTORY_KEYS:
        tally = history.tally(kind, keys[kind]) if kind in keys else None
        if tally is None:
            row[f"{kind}_seen"] = 0.0 if kind in keys else None
            row[f"{kind}_fraud_rate"] = prior if kind in keys else None
            continue
        row[f"{kind}_seen"] = float(tally.seen)
        row[f"{kind}_fraud_rate"] = (tally.found + SMOOTHING * prior) / (tally.labelled + SMOOTHING)
        if kind == "hs6" and per_kg is not None and tally.log_value_per_kg_count:
            row["value_per_kg_vs_hs6"] = (
                per_kg - tally.log_value_per_kg_sum / tally.log_value_per_kg_count
            )
        if kind == "importer" and tally.seen:
            row["value_vs_importer"] = (
                math.log1p(max(declared.value, 0.0)) - tally.log_value_sum / tally.seen
            )
    return row


def history_evidence(declared: Declared, history: History, kind: str) -> dict[str, str]:
    """What an officer needs to check a history feature: the key, its counts."""
    keys = declared.history_keys()
    if kind not in keys:
        return {}
    tally = history.tally(kind, keys[kind])
    return {
        kind: keys[kind],
        "earlierDeclarations": str(tally.seen if tally else 0),
        "earlierInspections": str(tally.labelled if tally else 0),
        "foundProblems": str(tally.found if tally else 0),
    }
