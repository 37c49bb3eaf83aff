"""Declarations are found by their indexed order number, never by scanning every declaration:
when a document is sent again, deleted or cancelled (each a routine message, each read the
declaration a document is filed in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import event

from customs import clearance_service, service
from customs.ceb.writer import Sender, write_message
from customs.context import Customs
from tests.customs import builders
from tests.test_flow import submit_request, submit_set


def _submit(
    customs: Customs, message_type: str, head: Mapping[str, str], lines: Any, sender: str
) -> int:
    body = write_message(message_type, [(dict(head), lines)], Sender(sender, "s"))
    reference = service.submit_message(customs, body, correlation_id="again").documents[0].reference
    return service.receipt_view(customs, reference).return_status


def test_a_resent_order_a_cancellation_and_a_deletion_read_declarations_by_index(
    customs, customs_engine
):
    if customs_engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's (PostgreSQL's follow its statistics)")
    declaration = builders.declaration_set()
    order, payment = declaration.order, declaration.payment
    refs = submit_set(customs, declaration)
    read: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM declaration" in statement:
            read.append((statement, params))

    event.listen(customs_engine, "before_cursor_execute", seen)
    try:
        # the order again (a duplicate, refused on the hot path: no declaration read)
        resent = _submit(customs, "CEB311Message", order.head, order.lines, order.head["ebpCode"])
        # the inventory cancelled (its declaration, by the inventory)
        invt_no = service.receipt_view(customs, refs["inventory"]).keys["invtNo"]
        cancelled = submit_request(customs, "CEB623Message", builders.cancel(invtNo=invt_no))
        # the payment deleted (taken out of its declaration)
        deleted = dict(payment.head, appType="3", appTime="20240901110000")
        withdrawn = _submit(
            customs, "CEB411Message", deleted, payment.lines, payment.head["payCode"]
        )
    finally:
        event.remove(customs_engine, "before_cursor_execute", seen)

    assert resent == -301010  # refused as a duplicate
    assert service.receipt_view(customs, cancelled).return_status == 399
    assert withdrawn == 120
    (found,) = clearance_service.find_declarations(customs, order_no=builders.ORDER_NO)
    view = clearance_service.declaration_view(customs, found["id"])
    assert view["documents"]["payment"] is None and view["documents"]["order"] is not None
    assert len(read) >= 2
    with customs_engine.connect() as conn:
        for statement, params in read:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            details = [str(step[-1]) for step in plan]
            assert not [d for d in details if d.startswith("SCAN declaration")], (
                statement,
                details,
            )
