"""Numbers customs hands out in sequence: consecutive, per sequence, never twice."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from customs.numbering import inventory_numbers, next_value, next_values


def test_a_sequence_starts_at_one_and_hands_out_consecutive_numbers(customs_engine: Engine):
    with Session(customs_engine) as session:
        assert next_value(session, "a") == 1
        assert next_values(session, "a", 3) == range(2, 5)
        assert next_values(session, "b", 2) == range(1, 3)  # each sequence its own
        session.commit()
    with Session(customs_engine) as session:
        assert next_value(session, "a") == 5  # kept once committed
        session.rollback()
    with Session(customs_engine) as session:
        assert next_value(session, "a") == 5  # given back with a rolled-back transaction


def test_numbers_are_taken_in_one_statement(customs_engine: Engine):
    statements: list[str] = []
    event.listen(
        customs_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    with Session(customs_engine) as session, session.begin():
        next_value(session, "warm")  # the session's BEGIN, on SQLite
        statements.clear()
        numbers = inventory_numbers(session, customs_code="5141", year=2026, ie_flag="I", count=3)
    assert numbers == ["51412026I000000001", "51412026I000000002", "51412026I000000003"]
    assert len(statements) == 1


def test_concurrent_transactions_never_take_the_same_number(customs_engine: Engine):
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        try:
            for _ in range(10):
                with Session(customs_engine) as session, session.begin():
                    numbers = next_values(session, "shared", 3)
                with lock:
                    taken.extend(numbers)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 121))
