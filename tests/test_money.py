"""Money columns keep exact decimals on SQLite and PostgreSQL alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from clearway.database import Money, make_engine

metadata = MetaData()
prices = Table("prices", metadata, Column("id", Integer, primary_key=True), Column("v", Money))


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("value", ["0.1", "26000", "99999999999999.99999", "-0.00001"])
def test_money_round_trips_exactly(engine, value):
    with engine.begin() as conn:
        conn.execute(insert(prices).values(v=Decimal(value)))
        stored = conn.execute(select(prices.c.v)).scalar_one()
    assert stored == Decimal(value)
    assert isinstance(stored, Decimal)
    assert stored.as_tuple().exponent == -5


def test_money_refuses_floats(engine):
    with pytest.raises(StatementError, match="money must be Decimal"), engine.begin() as conn:
        conn.execute(insert(prices).values(v=0.1))


def test_money_refuses_more_than_five_decimal_places(engine):
    with pytest.raises(StatementError, match="more than 5 decimal places"), engine.begin() as conn:
        conn.execute(insert(prices).values(v=Decimal("1.000001")))


def test_money_refuses_more_than_nineteen_digits(engine):
    with pytest.raises(StatementError, match="more than 19 digits"), engine.begin() as conn:
        conn.execute(insert(prices).values(v=Decimal("123456789012345")))
