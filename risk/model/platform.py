"""The platform's DeclarationReadyV1 as `Declared` facts for the model (pure).

The main line (highest total price) gives the HS code and origin; the value is the order's goods
value (CNY); the tax rate is the total tax over the dutiable value. Parties: importer = the
buyer (keyed pseudonym), seller = the e-commerce enterprise, declarant = the inventory's agent,
courier = the logistics company. The day is when risk assesses it (given, not read here).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from risk.model.features import Declared
from schemas.events import DeclarationReadyV1


def declared_from(event: DeclarationReadyV1, day: date, *, ref: str | None = None) -> Declared:
    """The model's view of a declaration customs is ready to route (`ref`: its id as text,
    where the caller has made it already)."""
    main = max(event.lines, key=lambda line: line.total_price)
    parties = {
        "importer": event.buyer_key,
        "seller": event.ebc_code,
        "declarant": event.agent_code,
        "courier": event.logistics_code,
    }
    return Declared(
        ref=str(event.declaration_id) if ref is None else ref,
        day=day,
        hs_code=main.gcode,
        value=float(event.goods_value),
        origin_country=main.country,
        departure_country=event.departure_country,
        transport_mode=event.transport_mode,
        trade_mode=event.trade_mode,
        net_mass_kg=None if event.net_weight is None else float(event.net_weight),
        quantity=float(sum(line.qty for line in event.lines)),
        tax_rate=float(event.tax_total / event.dutiable_value * 100)
        if event.dutiable_value
        else None,
        parties={role: v for role, v in parties.items() if v},
    )


def to_json(declared: Declared) -> dict[str, Any]:
    """Facts as JSON, kept with the assessment so the model can be retrained from them."""
    return {
        "ref": declared.ref,
        "day": declared.day.isoformat(),
        "hs_code": declared.hs_code,
        "value": declared.value,
        "origin_country": declared.origin_country,
        "departure_country": declared.departure_country,
        "transport_mode": declared.transport_mode,
        "trade_mode": declared.trade_mode,
        "office": declared.office,
        "net_mass_kg": declared.net_mass_kg,
        "quantity": declared.quantity,
        "tax_rate": declared.tax_rate,
        "parties": dict(declared.parties),
        "extra": dict(declared.extra),
    }


def from_json(raw: dict[str, Any]) -> Declared:
    """Facts back from their JSON."""
    return Declared(**{**raw, "day": date.fromisoformat(raw["day"])})
