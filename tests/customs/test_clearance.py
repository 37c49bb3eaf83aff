"""The inventory clearance state machine, as tables."""

from __future__ import annotations

import pytest

from customs.domain.clearance import (
    ALLOWED_CODES,
    Action,
    TransitionRefused,
    allowed_on,
    is_stale,
    transition,
)


@pytest.mark.parametrize(
    ("current", "action", "codes"),
    [
        (120, Action.ROUTE_RELEASE, (399, 800)),
        (120, Action.ROUTE_REVIEW, (300,)),
        (120, Action.ROUTE_INSPECT, (500,)),
        (300, Action.RELEASE, (399, 800)),
        (500, Action.RELEASE, (399, 800)),
        (300, Action.INSPECT, (500,)),
        (500, Action.RETURN_ABROAD, (700,)),
        (502, Action.RETURN_ABROAD, (700,)),
        (300, Action.REJECT, (100,)),
        (599, Action.REJECT, (100,)),
        (800, Action.CLOSE, (899,)),
    ],
)
def test_an_allowed_action_issues_its_receipts_in_order(current, action, codes):
    assert transition(current, action).codes == codes


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (2, Action.ROUTE_RELEASE),
        (800, Action.RELEASE),
        (800, Action.REJECT),
        (100, Action.CLOSE),
        (120, Action.CLOSE),
        (300, Action.DETAIN),
        (899, Action.INSPECT),
    ],
)
def test_an_action_in_the_wrong_state_is_refused_with_the_states_it_needs(current, action):
    with pytest.raises(TransitionRefused, match=f"not allowed in state {current}"):
        transition(current, action)


@pytest.mark.parametrize("code", [501, 502, 503, 599])
def test_a_detention_carries_its_official_code(code):
    assert transition(500, Action.DETAIN, detention_code=code).codes == (code,)


def test_a_detention_without_an_official_code_is_refused():
    with pytest.raises(ValueError, match="detention needs one of the codes"):
        transition(500, Action.DETAIN, detention_code=509)


def test_every_code_the_state_machine_issues_may_stand_on_an_inventory_receipt():
    issued = {120, 300, 399, 500, 501, 502, 503, 599, 700, 800, 899, 100}
    assert all(allowed_on("CEB622Message", code) for code in issued)
    assert ALLOWED_CODES["CEB622Message"] >= issued


@pytest.mark.parametrize(
    ("receipt", "code", "allowed"),
    [
        ("CEB312Message", 800, False),
        ("CEB514Message", 120, False),
        ("CEB604Message", 500, False),
        ("CEB214Message", 505, True),
        ("CEB622Message", -621018, True),
    ],
)
def test_each_receipt_type_carries_only_its_own_codes(receipt, code, allowed):
    assert allowed_on(receipt, code) is allowed


@pytest.mark.parametrize(
    ("current", "incoming", "stale"),
    [(800, 399, True), (399, 800, False), (120, 300, False), (300, 120, True), (100, 800, True)],
)
def test_updates_that_arrive_after_the_inventory_moved_on_are_stale(current, incoming, stale):
    assert is_stale(current, incoming) is stale
