"""Buyer quotas consumed atomically on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from customs import quota_store
from customs.db import Declaration

LIMIT = Decimal("26000")


def _declaration(engine) -> str:
    declaration_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Declaration).values(
                id=declaration_id,
                ebp_code="3301960001",
                order_no=declaration_id[:20],
                created_at=now,
                updated_at=now,
            )
        )
    return declaration_id


def _consume(engine, declaration_id: str, amount: str) -> bool:
    with Session(engine) as session, session.begin():
        return quota_store.consume(
            session,
            declaration_id=declaration_id,
            buyer_key="buyer-1",
            year=2026,
            amount=Decimal(amount),
            annual_limit=LIMIT,
        )


def test_a_buyer_may_use_the_quota_up_to_the_limit_exactly(customs_engine):
    assert _consume(customs_engine, _declaration(customs_engine), "25999.99999")
    assert _consume(customs_engine, _declaration(customs_engine), "0.00001")
    assert not _consume(customs_engine, _declaration(customs_engine), "0.00001")
    with Session(customs_engine) as session:
        assert quota_store.used(session, buyer_key="buyer-1", year=2026) == LIMIT


def test_quota_is_per_calendar_year(customs_engine):
    assert _consume(customs_engine, _declaration(customs_engine), "26000")
    with Session(customs_engine) as session, session.begin():
        assert quota_store.consume(
            session,
            declaration_id=_declaration(customs_engine),
            buyer_key="buyer-1",
            year=2027,
            amount=Decimal("100"),
            annual_limit=LIMIT,
        )


def test_two_declarations_at_the_same_moment_never_both_pass_the_limit(customs_engine):
    assert _consume(customs_engine, _declaration(customs_engine), "25000")
    first, second = _declaration(customs_engine), _declaration(customs_engine)
    first_took = threading.Event()
    results: dict[str, bool] = {}

    def hold_then_commit() -> None:
        with Session(customs_engine) as session, session.begin():
            results["first"] = quota_store.consume(
                session,
                declaration_id=first,
                buyer_key="buyer-1",
                year=2026,
                amount=Decimal("600"),
                annual_limit=LIMIT,
            )
            first_took.set()
            threading.Event().wait(0.5)  # the second one runs against the uncommitted row

    def race() -> None:
        first_took.wait(10)
        results["second"] = _consume(customs_engine, second, "600")

    threads = [threading.Thread(target=hold_then_commit), threading.Thread(target=race)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"first": True, "second": False}
    with Session(customs_engine) as session:
        assert quota_store.used(session, buyer_key="buyer-1", year=2026) == Decimal("25600")


def test_a_restored_declaration_gives_back_exactly_what_it_took_once(customs_engine):
    declaration_id = _declaration(customs_engine)
    assert _consume(customs_engine, declaration_id, "1234.56789")
    for expected in ("1234.56789", "0"):
        with Session(customs_engine) as session, session.begin():
            assert quota_store.restore(session, declaration_id=declaration_id) == Decimal(expected)
    with Session(customs_engine) as session:
        assert quota_store.used(session, buyer_key="buyer-1", year=2026) == 0
