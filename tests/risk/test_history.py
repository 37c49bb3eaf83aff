"""Risk's history on its database: counted by event time, prices learned as declarations pass,
and the rule set in force read per declaration (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.consumer import HandlerContext
from risk import history_store, ruleset_store
from risk.db import DeclarationRecord, PriceReservoir, PriceSample, RiskAssessment, runtime
from risk.domain.prices import robust_reference
from risk.domain.rules import RuleSet
from risk.ruleset_file import ruleset_document
from risk.ruleset_store import ActiveRuleSet
from risk.service import assess_declaration
from schemas.envelope import Envelope
from tests.risk.declarations import declaration

T0 = datetime(2024, 9, 1, 2, 0, tzinfo=UTC)  # event times long before the wall clock
SEED = RuleSet(random_inspection_rate=Decimal(0))
PHONE, ADDRESS = "a" * 64, "b" * 64


def buyer(n: int) -> str:
    return f"{n:064x}"


def deliver(engine, rules: ActiveRuleSet, at: datetime, **changes: Any) -> RiskAssessment:
    """One DeclarationReadyV1, as the consumer loop hands it over, in its own transaction."""
    event = declaration(declaration_id=str(uuid.uuid4()), **changes)
    envelope = Envelope[Any](
        producer="customs", correlation_id="c", key=event.order_no, payload=event, occurred_at=at
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        ctx = HandlerContext(session=session, envelope=envelope, service="risk", _tables=runtime)
        assess_declaration(rules, ctx, event)
        ctx.flush_staged()
    with Session(engine) as session:
        found = session.get(RiskAssessment, str(event.declaration_id))
        assert found is not None
        return found


def codes(assessment: RiskAssessment) -> list[str]:
    return [r["code"] for r in json.loads(assessment.reasons)]


def test_buyer_velocity_counts_by_event_time(risk_engine):
    rules = ActiveRuleSet(SEED)
    hours = [deliver(risk_engine, rules, T0 + timedelta(hours=h)) for h in range(4)]
    assert ["buyer-velocity" in codes(a) for a in hours] == [False, False, False, True]
    (reason,) = [r for r in json.loads(hours[3].reasons) if r["code"] == "buyer-velocity"]
    assert reason["evidence"] == {"window": "24 hours", "declarations": "4", "max": "3"}
    # a day later (by event time) the day is quiet again; the week has 5, within 10
    later = deliver(risk_engine, rules, T0 + timedelta(hours=3, days=1))
    assert "buyer-velocity" not in codes(later)
    other = deliver(risk_engine, rules, T0 + timedelta(hours=4), buyer_key=buyer(2))
    assert "buyer-velocity" not in codes(other)


def test_a_declaration_exactly_a_day_later_starts_a_new_day(risk_engine):
    rules = ActiveRuleSet(SEED)
    for minutes in (0, 1, 2):
        deliver(risk_engine, rules, T0 + timedelta(minutes=minutes))
    assert "buyer-velocity" not in codes(deliver(risk_engine, rules, T0 + timedelta(days=1)))


def test_an_address_shared_by_many_buyers_fires_and_one_buyer_again_does_not_count(risk_engine):
    rules = ActiveRuleSet(SEED)
    at = [T0 + timedelta(days=d) for d in range(6)]
    first = [
        deliver(risk_engine, rules, at[n], buyer_key=buyer(n), address_key=ADDRESS, phone_key=None)
        for n in range(3)
    ]
    assert not any("shared-address" in codes(a) for a in first)
    again = deliver(
        risk_engine, rules, at[3], buyer_key=buyer(0), address_key=ADDRESS, phone_key=None
    )
    assert "shared-address" not in codes(again)  # still three buyers
    fourth = deliver(
        risk_engine, rules, at[4], buyer_key=buyer(3), address_key=ADDRESS, phone_key=None
    )
    assert codes(fourth).count("shared-address") == 1
    (reason,) = [r for r in json.loads(fourth.reasons) if r["code"] == "shared-address"]
    assert reason["evidence"]["buyers"] == "4"


def test_buyers_sharing_a_phone_long_ago_are_outside_the_window(risk_engine):
    rules = ActiveRuleSet(SEED)
    for n in range(3):
        deliver(risk_engine, rules, T0 + timedelta(days=n), buyer_key=buyer(n), phone_key=PHONE)
    late = T0 + timedelta(days=2 + 91)  # the first two are more than 90 days before
    assert "shared-phone" not in codes(
        deliver(risk_engine, rules, late, buyer_key=buyer(9), phone_key=PHONE)
    )
    soon = T0 + timedelta(days=3)
    assert "shared-phone" in codes(
        deliver(risk_engine, rules, soon, buyer_key=buyer(8), phone_key=PHONE)
    )


def test_a_seller_and_a_platform_are_new_only_the_first_time(risk_engine):
    rules = ActiveRuleSet(SEED)
    assert {"new-enterprise", "new-platform"} <= set(codes(deliver(risk_engine, rules, T0)))
    second = deliver(risk_engine, rules, T0 + timedelta(days=30), buyer_key=buyer(1))
    assert not {"new-enterprise", "new-platform"} & set(codes(second))
    new_seller = deliver(
        risk_engine, rules, T0 + timedelta(days=31), buyer_key=buyer(2), ebc_code="3301969999"
    )
    assert "new-enterprise" in codes(new_seller) and "new-platform" not in codes(new_seller)


def test_prices_learned_from_history_flag_an_undervalued_line(risk_engine):
    rules = ActiveRuleSet(RuleSet(random_inspection_rate=Decimal(0), undervaluation_min_samples=20))
    usual = ["95.00", "98.00", "100.00", "102.00", "105.00"] * 4 + ["0.50", "9999.00"]  # 22
    for n, price in enumerate(usual):
        deliver(
            risk_engine, rules, T0 + timedelta(days=n), buyer_key=buyer(n),
            lines=[{"unit_price": price}],
        )  # fmt: skip
    cheap = deliver(
        risk_engine, rules, T0 + timedelta(days=40), buyer_key=buyer(99),
        lines=[{"unit_price": "20.00"}],
    )  # fmt: skip
    (reason,) = [r for r in json.loads(cheap.reasons) if r["code"] == "undervaluation"]
    assert reason["evidence"]["referenceUnitPrice"] == "100.00"
    assert reason["evidence"]["samples"] == "22"
    assert reason["evidence"]["declaredUnitPrice"] == "20.00"
    fair = deliver(
        risk_engine, rules, T0 + timedelta(days=41), buyer_key=buyer(98),
        lines=[{"unit_price": "90.00"}],
    )  # fmt: skip
    assert "undervaluation" not in codes(fair)
    with Session(risk_engine) as session:
        references = history_store.references(session, declaration())
    assert references["10:1901101000:116"].samples == 24
    assert references["2:19:116"].median == Decimal("100.00")


def test_the_price_sample_of_a_key_stays_bounded_and_uniform(risk_engine):
    with Session(risk_engine) as session, session.begin():
        for n in range(60):
            history_store.offer_price(
                session, "10:1901101000:116", Decimal(n), declaration_id=f"d{n}", gnum=1, size=10
            )
    with Session(risk_engine) as session:
        seen = session.get(PriceReservoir, "10:1901101000:116")
        kept = session.execute(
            select(PriceSample.slot, PriceSample.unit_price).order_by(PriceSample.slot)
        ).all()
    assert seen is not None and seen.seen == 60
    assert [slot for slot, _ in kept] == list(range(10))
    assert len({price for _, price in kept}) == 10
    assert max(price for _, price in kept) >= 10  # later prices replaced some early ones


def test_a_reference_read_between_offers_is_that_of_the_sample_as_it_is_then(risk_engine):
    # one run's reservoirs: the reference is asked for between offers that fill the sample and
    # then replace its slots (repeated prices among them), as a run's declarations do
    key = "10:1901101000:116"
    with Session(risk_engine) as session, session.begin():
        reservoirs = history_store.Reservoirs.load(session.connection(), [key], size=12)
        for n in range(80):
            price = Decimal(100 + (n * 37) % 23) if n % 3 else Decimal(100)
            reservoirs.offer(key, price, declaration_id=f"d{n}", gnum=1)
            if n % 4 == 0:
                sample = reservoirs.committed()[key].slots.values()
                assert reservoirs.reference(key) == robust_reference(sample)
        final = reservoirs.reference(key)
        reservoirs.write(session.connection())
    with Session(risk_engine) as session:
        stored = session.execute(select(PriceSample.unit_price)).scalars().all()
    assert final is not None and final.samples == len(stored) == 12
    assert final == robust_reference(stored)


def test_a_rule_set_change_applies_from_the_next_declaration(risk_engine):
    rules = ActiveRuleSet(SEED)
    before = deliver(risk_engine, rules, T0)
    assert (before.ruleset_version, before.route) == (SEED.version, "release")
    document = ruleset_document(SEED)
    document["version"] = "rules-2026.12.1"
    document["watchlist"] = [
        {"kind": "enterprise", "value": "3301960002", "reason": "undeclared brand goods"}
    ]
    ruleset_store.change(
        risk_engine, SEED, document=document, actor="officer-7", reason="seizure report 17"
    )
    after = deliver(risk_engine, rules, T0 + timedelta(days=1), buyer_key=buyer(1))
    assert (after.ruleset_version, after.route) == ("rules-2026.12.1", "inspect")
    assert "watchlist" in codes(after)


def test_a_redelivered_declaration_is_remembered_once(risk_engine):
    rules = ActiveRuleSet(SEED)
    event = declaration()
    envelope = Envelope[Any](
        producer="customs", correlation_id="c", key=event.order_no, payload=event, occurred_at=T0
    )
    for _ in range(2):
        with Session(risk_engine) as session, session.begin():
            ctx = HandlerContext(
                session=session, envelope=envelope, service="risk", _tables=runtime
            )
            assess_declaration(rules, ctx, event)
            ctx.flush_staged()
    with Session(risk_engine) as session:
        records = session.execute(select(func.count()).select_from(DeclarationRecord)).scalar()
        offered = session.get(PriceReservoir, "10:1901101000:116")
    assert records == 1
    assert offered is not None and offered.seen == 1
