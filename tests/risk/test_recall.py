"""What the risk worker keeps of its own commits (`history_store.Recall`): kept only once a
transaction commits, used only while the database still holds it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from risk import history_store
from risk.db import PriceReservoir, PriceSample
from risk.domain.rules import RuleSet
from risk.history_store import Recall, RunHistory, on_commit
from tests.risk.declarations import declaration

T0 = datetime(2024, 9, 1, 2, 0, tzinfo=UTC)
RULES = RuleSet(random_inspection_rate=Decimal(0), undervaluation_min_samples=1)
KEY = "10:1901101000:116"


def _run(engine: Engine, recall: Recall, n: int, *, commit: bool = True) -> RunHistory:
    """One run of one declaration (a unit price of 100.00), as the intake handles it."""
    event = declaration(
        declaration_id=f"00000000-0000-0000-0000-{n:012d}", lines=[{"unit_price": "100.00"}]
    )
    with Session(engine) as session:
        session.begin()
        conn = session.connection()
        history = RunHistory.load(conn, [(event, T0)], RULES, recall)
        history.history(event, at=T0, rules=RULES)
        history.remember(event, at=T0)
        history.write(conn)
        recall.stage(session, history)
        if commit:
            session.commit()
        else:
            session.rollback()
    return history


def _reference(engine: Engine, recall: Recall) -> Decimal:
    event = declaration(lines=[{"unit_price": "100.00"}])
    with Session(engine) as session, session.begin():
        history = RunHistory.load(session.connection(), [(event, T0)], RULES, recall)
        found = history.history(event, at=T0, rules=RULES).prices[KEY]
        session.rollback()
    return found.median


def test_a_sample_is_recalled_while_its_count_is_unchanged(risk_engine):
    recall = Recall()
    _run(risk_engine, recall, 1)
    assert recall.sample(KEY, 1, 200) is not None
    assert recall.sellers == {"3301960002"}
    with Session(risk_engine) as session, session.begin():  # behind the recall's back
        session.execute(update(PriceSample).values(unit_price=Decimal("7.00")))
    assert _reference(risk_engine, recall) == Decimal("100.00")  # recalled, not read
    assert _reference(risk_engine, Recall()) == Decimal("7.00")
    with Session(risk_engine) as session, session.begin():  # as another worker's offer would
        session.execute(update(PriceReservoir).values(seen=PriceReservoir.seen + 1))
    assert _reference(risk_engine, recall) == Decimal("7.00")  # read again


def test_a_rolled_back_run_leaves_nothing_to_recall(risk_engine):
    recall = Recall()
    _run(risk_engine, recall, 1, commit=False)
    assert recall.sample(KEY, 1, 200) is None
    assert recall.sellers == set() == recall.platforms
    history = _run(risk_engine, recall, 2)  # the count is 1 again: read, not recalled
    assert recall.sample(KEY, 1, 200) is not None
    assert history.prices.samples(KEY) == 1


def test_another_database_is_not_recalled(risk_engine, tmp_path):
    from clearway.database import make_engine, migrate

    recall = Recall()
    _run(risk_engine, recall, 1)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    migrate("risk", url)
    other = make_engine(url)
    try:
        with Session(other) as session, session.begin():
            RunHistory.load(session.connection(), [(declaration(), T0)], RULES, recall)
        assert recall.sample(KEY, 1, 200) is None
        assert recall.sellers == set()
    finally:
        other.dispose()


@pytest.mark.parametrize("outer", ["commit", "rollback"])
def test_on_commit_waits_for_the_outer_transaction(risk_engine, outer):
    done: list[str] = []
    with Session(risk_engine) as session:
        session.begin()
        on_commit(session, lambda: done.append("outer"))
        with session.begin_nested():
            on_commit(session, lambda: done.append("released"))
        assert done == []  # a released savepoint is not a commit
        nested = session.begin_nested()
        on_commit(session, lambda: done.append("rolled back"))
        nested.rollback()  # drops whatever is pending: only a lost shortcut
        on_commit(session, lambda: done.append("after"))
        getattr(session, outer)()
    assert done == (["after"] if outer == "commit" else [])


def test_a_recalled_sample_in_order_gives_the_reference_the_database_gives(
    risk_engine, monkeypatch
):
    # runs offering different prices, the key's sample recalled (in order) from run to run,
    # a reservoir small enough that its slots are replaced: each time the reference before and
    # after the run's offer is the one computed afresh from what the database holds
    monkeypatch.setattr(history_store, "RESERVOIR_SIZE", 8)
    recall = Recall()
    stored = None
    for n in range(40):
        price = f"{100 + (n * 7) % 13}.{n % 10}0"
        event = declaration(
            declaration_id=f"00000000-0000-0000-0000-{n:012d}", lines=[{"unit_price": price}]
        )
        with Session(risk_engine) as session, session.begin():
            conn = session.connection()
            history = RunHistory.load(conn, [(event, T0)], RULES, recall)
            assert history.history(event, at=T0, rules=RULES).prices.get(KEY) == stored
            history.remember(event, at=T0)
            offered = history.prices.reference(KEY)
            history.write(conn)
            recall.stage(session, history)
        with Session(risk_engine) as session, session.begin():
            stored = RunHistory.load(session.connection(), [], RULES).prices.reference(KEY)
            session.rollback()
        assert offered == stored
        assert stored is not None and stored.samples == min(n + 1, 8)
