"""Pure customs rules, as tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from customs.domain.declarations import decide
from customs.domain.personal import mask, shown
from customs.timefmt import pre_entry_numbers, return_time


@pytest.mark.parametrize(
    ("message_type", "app_type", "declared", "status", "register", "unregister"),
    [
        ("CEB311Message", "1", False, 120, True, False),
        ("CEB311Message", "1", True, -301010, False, False),
        ("CEB311Message", "2", True, 120, True, False),
        ("CEB311Message", "2", False, -301009, False, False),
        ("CEB311Message", "3", True, 120, False, True),
        ("CEB311Message", "3", False, -301009, False, False),
        ("CEB411Message", "1", True, -401007, False, False),
        ("CEB411Message", "2", False, -401001, False, False),
        ("CEB511Message", "1", True, -504012, False, False),
        ("CEB511Message", "3", False, 100, False, False),
    ],
)
def test_a_decision_follows_app_type_and_what_is_declared(
    message_type, app_type, declared, status, register, unregister
):
    duplicate = {"CEB311Message": -301010, "CEB411Message": -401007, "CEB511Message": -504012}
    decision = decide(
        message_type=message_type,
        label="document",
        app_type=app_type,
        declared=declared,
        duplicate_code=duplicate[message_type],
    )
    assert decision.return_status == status
    assert (decision.register, decision.unregister) == (register, unregister)
    assert status == 120 or str(status) in decision.return_info


def test_return_time_is_china_time_with_milliseconds():
    assert return_time(datetime(2026, 1, 31, 16, 0, 1, 234_567, tzinfo=UTC)) == "20260201000001234"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("130681136250023332", "130***********3332"),
        ("焦洪宇", "焦*宇"),
        ("aa", "**"),
        ("13522652231", "135****2231"),
    ],
)
def test_personal_values_are_masked(value, masked):
    assert mask(value) == masked


def test_only_personal_fields_are_masked():
    assert shown("buyerIdNumber", "130681136250023332") != "130681136250023332"
    assert shown("orderNo", "order20160321116421002") == "order20160321116421002"


@pytest.mark.parametrize(
    ("message_type", "withdrawn_by"),
    [("CEB621Message", "CEB623Message"), ("CEB603Message", "CEB605Message")],
)
def test_an_inventory_is_never_deleted_only_cancelled(message_type, withdrawn_by):
    decision = decide(
        message_type=message_type,
        label="inventory",
        app_type="3",
        declared=True,
        duplicate_code=-621004,
        withdrawn_by=withdrawn_by,
    )
    assert (decision.return_status, decision.accepted) == (100, False)
    assert withdrawn_by in decision.return_info


def test_a_pre_entry_number_is_the_china_day_and_the_last_nine_digits_of_the_id():
    first, second = uuid.UUID(int=10**12 + 7), uuid.UUID(int=123_456_789_012)
    at = datetime(2026, 1, 31, 16, 0, 1, tzinfo=UTC)  # 1 February in China
    assert pre_entry_numbers(at, [first, second]) == ["B20260201000000007", "B20260201456789012"]
