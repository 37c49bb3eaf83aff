"""Rules on the parties: new sellers and platforms, watchlists, how often a buyer orders, phones
and addresses shared by many buyers, buyers near their annual quota."""

from __future__ import annotations

from risk.domain.history import History
from risk.domain.ruleset import RuleSet, WatchKind
from schemas.events import DeclarationReadyV1, RiskReason

_ENTERPRISE_ROLES = (
    ("ebp_code", "ebpCode", "platform"),
    ("ebc_code", "ebcCode", "e-commerce enterprise"),
    ("logistics_code", "logisticsCode", "logistics enterprise"),
)
_KEYED: tuple[tuple[WatchKind, str, str], ...] = (
    ("buyer", "buyer_key", "The buyer"),
    ("phone", "phone_key", "The buyer's phone"),
    ("address", "address_key", "The consignee address"),
)


def newcomers(
    declaration: DeclarationReadyV1, history: History, rules: RuleSet
) -> list[RiskReason]:
    """First declarations of a seller (ebcCode) or a platform (ebpCode)."""
    found: list[RiskReason] = []
    if history.enterprise_declarations == 0:
        found.append(
            RiskReason(
                code="new-enterprise",
                text=f"First declaration of e-commerce enterprise {declaration.ebc_code}",
                points=rules.new_enterprise_points,
                evidence={"ebcCode": declaration.ebc_code},
            )
        )
    if history.platform_declarations == 0:
        found.append(
            RiskReason(
                code="new-platform",
                text=f"First declaration through e-commerce platform {declaration.ebp_code}",
                points=rules.new_platform_points,
                evidence={"ebpCode": declaration.ebp_code},
            )
        )
    return found


def watchlisted(declaration: DeclarationReadyV1, rules: RuleSet) -> list[RiskReason]:
    """Parties on the watchlist, each with the reason it was put there."""
    watched: dict[tuple[WatchKind, str], tuple[str, int]] = {
        (entry.kind, entry.value): (
            entry.reason,
            rules.watchlist_points if entry.points is None else entry.points,
        )
        for entry in rules.watchlist
    }
    found: list[RiskReason] = []
    for attribute, field, role in _ENTERPRISE_ROLES:
        code = getattr(declaration, attribute)
        hit = watched.get(("enterprise", code))
        if hit is not None:
            found.append(
                RiskReason(
                    code="watchlist",
                    text=f"The {role} {code} ({field}) is on the watchlist: {hit[0]}",
                    points=hit[1],
                    evidence={"kind": "enterprise", "field": field, "value": code},
                )
            )
    for kind, attribute, who in _KEYED:
        key = getattr(declaration, attribute)
        hit = watched.get((kind, key)) if key else None
        if hit is not None:
            found.append(
                RiskReason(
                    code="watchlist",
                    text=f"{who} is on the watchlist: {hit[0]}",
                    points=hit[1],
                    evidence={"kind": kind, "value": key},
                )
            )
    return found


def buyer_velocity(history: History, rules: RuleSet) -> list[RiskReason]:
    """A buyer declaring more often than a person buying for themselves (the day rule first;
    the week rule only when the day one did not fire)."""
    day, week = history.buyer_last_day + 1, history.buyer_last_week + 1
    if day > rules.buyer_day_max:
        window, count, limit, points = "24 hours", day, rules.buyer_day_max, rules.buyer_day_points
    elif week > rules.buyer_week_max:
        window, count, limit, points = "7 days", week, rules.buyer_week_max, rules.buyer_week_points
    else:
        return []
    return [
        RiskReason(
            code="buyer-velocity",
            text=f"The buyer has {count} declarations in {window} (at most {limit} expected)",
            points=points,
            evidence={"window": window, "declarations": str(count), "max": str(limit)},
        )
    ]


def shared_contacts(
    declaration: DeclarationReadyV1, history: History, rules: RuleSet
) -> list[RiskReason]:
    """One phone or address used by many buyer identities (ID renting, split orders)."""
    found: list[RiskReason] = []
    for code, what, key, others in (
        ("shared-phone", "phone", declaration.phone_key, history.phone_other_buyers),
        ("shared-address", "address", declaration.address_key, history.address_other_buyers),
    ):
        buyers = others + 1
        if key is None or buyers <= rules.shared_contact_max_buyers:
            continue
        found.append(
            RiskReason(
                code=code,
                text=f"The buyer's {what} is shared by {buyers} buyers in "
                f"{rules.shared_contact_window_days} days (at most "
                f"{rules.shared_contact_max_buyers} expected)",
                points=rules.shared_contact_points,
                evidence={
                    f"{what}Key": key,
                    "buyers": str(buyers),
                    "max": str(rules.shared_contact_max_buyers),
                    "windowDays": str(rules.shared_contact_window_days),
                },
            )
        )
    return found


def quota_near_limit(declaration: DeclarationReadyV1, rules: RuleSet) -> list[RiskReason]:
    """A buyer who has used most of the annual quota (often a lent identity)."""
    share = declaration.buyer_used_this_year / rules.annual_limit
    if share < rules.quota_near_share:
        return []
    return [
        RiskReason(
            code="quota-near-limit",
            text=f"The buyer has used {share:.0%} of the annual quota",
            points=rules.quota_near_points,
            evidence={
                "used": str(declaration.buyer_used_this_year),
                "limit": str(rules.annual_limit),
            },
        )
    ]
