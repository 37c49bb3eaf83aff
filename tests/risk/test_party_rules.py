"""Rules on the parties: watchlists, newcomers, buyer velocity, shared phones and addresses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk.domain import parties
from risk.domain.rules import History, RuleSet, WatchlistEntry, assess
from tests.risk.declarations import declaration

PHONE = "a" * 64
ADDRESS = "b" * 64
BUYER = "5f2b7c1e9a3d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"  # the example's
KNOWN = History(enterprise_declarations=5, platform_declarations=5)


def watching(*entries: WatchlistEntry) -> RuleSet:
    return RuleSet(watchlist=entries, random_inspection_rate=Decimal(0))


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (WatchlistEntry("enterprise", "3301960001", "fake invoices in 2025"), "ebpCode"),
        (WatchlistEntry("enterprise", "3301960002", "fake invoices in 2025"), "ebcCode"),
        (WatchlistEntry("enterprise", "3301980002", "fake invoices in 2025"), "logisticsCode"),
    ],
)
def test_a_watchlisted_enterprise_in_any_role_is_inspected_with_the_entry_reason(entry, field):
    result = assess(declaration(), KNOWN, watching(entry))
    (reason,) = result.reasons
    assert (reason.code, reason.points) == ("watchlist", 70)
    assert reason.evidence == {"kind": "enterprise", "field": field, "value": entry.value}
    assert "fake invoices in 2025" in reason.text and entry.value in reason.text
    assert result.route == "inspect"


@pytest.mark.parametrize(
    ("kind", "value", "changes"),
    [
        ("buyer", BUYER, {}),
        ("phone", PHONE, {"phone_key": PHONE}),
        ("address", ADDRESS, {"address_key": ADDRESS}),
    ],
)
def test_a_watchlisted_buyer_phone_or_address_fires(kind, value, changes):
    rules = watching(WatchlistEntry(kind, value, "seized parcels", points=45))
    (reason,) = assess(declaration(**changes), KNOWN, rules).reasons
    assert (reason.code, reason.points, reason.evidence["kind"]) == ("watchlist", 45, kind)
    assert "seized parcels" in reason.text


@pytest.mark.parametrize(
    "entry",
    [
        WatchlistEntry("enterprise", "3301960009", "another enterprise"),
        WatchlistEntry("buyer", "c" * 64, "another buyer"),
        WatchlistEntry("phone", PHONE, "a phone this declaration does not carry"),
        WatchlistEntry("address", BUYER, "a buyer key listed as an address matches no address"),
    ],
)
def test_parties_not_on_the_watchlist_do_not_fire(entry):
    assert parties.watchlisted(declaration(), watching(entry)) == []


@pytest.mark.parametrize(
    ("last_day", "last_week", "code_window"),
    [
        (0, 0, None),
        (2, 2, None),  # the 3rd in a day: at the limit
        (3, 3, "24 hours"),  # the 4th in a day
        (2, 9, None),  # the 10th in a week
        (2, 10, "7 days"),  # the 11th in a week
        (5, 20, "24 hours"),  # both: the day rule speaks, once
    ],
)
def test_buyer_velocity_by_day_then_by_week(last_day, last_week, code_window):
    history = History(buyer_last_day=last_day, buyer_last_week=last_week)
    found = parties.buyer_velocity(history, RuleSet())
    assert [r.evidence["window"] for r in found] == ([code_window] if code_window else [])
    if code_window == "24 hours":
        assert found[0].points == 25 and found[0].evidence["declarations"] == str(last_day + 1)
    if code_window == "7 days":
        assert found[0].points == 15 and found[0].evidence["declarations"] == str(last_week + 1)


@pytest.mark.parametrize(
    ("phone_others", "address_others", "codes"),
    [
        (0, 0, []),
        (2, 2, []),  # 3 buyers: at the limit
        (3, 0, ["shared-phone"]),
        (0, 3, ["shared-address"]),
        (7, 4, ["shared-phone", "shared-address"]),
    ],
)
def test_a_phone_or_address_shared_by_many_buyers(phone_others, address_others, codes):
    history = History(phone_other_buyers=phone_others, address_other_buyers=address_others)
    found = parties.shared_contacts(
        declaration(phone_key=PHONE, address_key=ADDRESS), history, RuleSet()
    )
    assert [r.code for r in found] == codes
    for reason in found:
        assert reason.points == 30 and "buyers" in reason.text


def test_without_pseudonyms_the_shared_contact_rule_is_silent():
    history = History(phone_other_buyers=50, address_other_buyers=50)
    bare = declaration(phone_key=None, address_key=None)
    assert parties.shared_contacts(bare, history, RuleSet()) == []


@pytest.mark.parametrize(
    ("used", "fires"), [("20799.99", False), ("20800.00", True), ("26000.00", True)]
)
def test_a_buyer_near_the_annual_quota(used, fires):
    found = parties.quota_near_limit(declaration(buyer_used_this_year=used), RuleSet())
    assert bool(found) is fires


@pytest.mark.parametrize(
    ("history", "codes"),
    [
        (KNOWN, []),
        (History(enterprise_declarations=1, platform_declarations=0), ["new-platform"]),
        (History(enterprise_declarations=0, platform_declarations=1), ["new-enterprise"]),
        (History(), ["new-enterprise", "new-platform"]),
    ],
)
def test_first_declarations_of_a_seller_or_a_platform(history, codes):
    assert [r.code for r in parties.newcomers(declaration(), history, RuleSet())] == codes
