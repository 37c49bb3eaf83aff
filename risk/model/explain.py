"""Feature contributions turned into reasons an officer can read, with their evidence (pure).

Contributions are LightGBM's per-feature shares of the log-odds (`pred_contrib=True`); the
features that pushed the score up most become reasons (points 0: the model's points are carried
by the one `learned-model` reason, so points still add up to the score).
"""

from __future__ import annotations

from collections.abc import Sequence

from risk.model.features import FEATURE_NAMES, HISTORY_KEYS, Declared, History, Value
from schemas.events import RiskReason

_KEY_NAMES = {
    "importer": "Buyer",
    "seller": "E-commerce enterprise",
    "declarant": "Declarant",
    "courier": "Logistics company",
    "hs6": "HS code",
    "origin_country": "Origin country",
    "hs6_origin": "HS code from this origin",
}
_SENTENCES = {
    "log_value": "Declared value {value}",
    "log_value_per_kg": "Value per kg is unusual ({value})",
    "value_per_kg_vs_hs6": "Value per kg differs from earlier declarations of this HS code",
    "value_vs_importer": "Value differs from this buyer's earlier declarations",
    "log_net_mass": "Net weight is unusual",
    "log_quantity": "Quantity is unusual",
    "log_value_per_unit": "Value per unit is unusual",
    "tax_rate": "Tax rate {value}%",
    "origin_differs": "Goods leave from another country than their origin",
    "hs2": "HS chapter {value}",
    "hs4": "HS heading {value}",
    "origin_country": "Origin country {value}",
    "departure_country": "Departure country {value}",
    "transport_mode": "Transport mode {value}",
    "trade_mode": "Trade mode {value}",
    "office": "Customs office {value}",
}
MAX_REASONS = 3
MIN_CONTRIBUTION = 0.05  # log-odds; smaller pushes are noise to an officer


def _sentence(name: str, value: Value, declared: Declared, history: History) -> str:
    if name.endswith(("_seen", "_fraud_rate")):
        kind = name.removesuffix("_seen").removesuffix("_fraud_rate")
        evidence = declared.history_keys().get(kind, "?")
        tally = history.tally(kind, evidence)
        seen = tally.seen if tally else 0
        if name.endswith("_seen"):
            return f"{_KEY_NAMES[kind]} {evidence}: {seen} earlier declarations"
        found, labelled = (tally.found, tally.labelled) if tally else (0, 0)
        return (
            f"{_KEY_NAMES[kind]} {evidence}: {found} of {labelled} earlier inspections "
            "found a problem"
        )
    if name in _SENTENCES:
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        return _SENTENCES[name].format(value=shown)
    return f"{name.replace('_', ' ').capitalize()} is {value}"


def reasons(
    declared: Declared,
    row: dict[str, Value],
    contributions: Sequence[float],
    history: History,
) -> tuple[RiskReason, ...]:
    """The features that raised this declaration's model score most, as reasons."""
    ranked = sorted(
        (c, name) for name, c in zip(FEATURE_NAMES, contributions, strict=False) if c > 0
    )[::-1]
    found: list[RiskReason] = []
    for contribution, name in ranked[:MAX_REASONS]:
        if contribution < MIN_CONTRIBUTION:
            break
        value = row.get(name)
        evidence = {"feature": name, "contribution": f"{contribution:.3f}"}
        if value is not None:
            evidence["value"] = f"{value:.4g}" if isinstance(value, float) else str(value)
        kind = name.removesuffix("_seen").removesuffix("_fraud_rate")
        if kind in HISTORY_KEYS:
            tally = history.tally(kind, declared.history_keys().get(kind, ""))
            if tally:
                evidence |= {
                    "earlierDeclarations": str(tally.seen),
                    "earlierInspections": str(tally.labelled),
                    "foundProblems": str(tally.found),
                }
        found.append(
            RiskReason(
                code=f"model:{name}"[:60],
                text=_sentence(name, value, declared, history)[:500],
                points=0,
                evidence=evidence,
            )
        )
    return tuple(found)
