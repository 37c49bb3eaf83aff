"""Returns of exported goods: a CEB213 application accepted (120) against a released export
inventory, a CEB215 tally releasing it (800), and every refusal naming its reason."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pytest

from customs.ceb.writer import write_message
from customs.domain import export_returns as rules
from customs.domain.export_clearance import Inventory
from tests.customs import builders
from tests.customs.test_export_flow import SENDER, _arrival, _statuses, _summary
from tests.customs.test_export_review import _answer, _clearance_events, _declaration
from tests.test_flow import workers

NAME = builders.EXPORT_CONSIGNOR_NAME
CODE = builders.EXPORT_CONSIGNOR


def _return(
    coElNo: str,
    invt_no: str,
    lines: Sequence[Mapping[str, str]] = ({"gnum": "1", "qty": "1", "qty1": "1"},),
    **head: str,
) -> bytes:
    """A CEB213 returning goods of the builder's export inventory (goods 9503008900 积木)."""
    fields = {
        "guid": str(uuid.uuid4()).upper(), "appType": "1", "appTime": "20241001100000",
        "appStatus": "2", "customsCode": "1501", "ebpCode": CODE, "ebpName": NAME,
        "ebcCode": CODE, "ebcName": NAME, "logisticsNo": f"BACK-{coElNo}",
        "logisticsCode": CODE, "logisticsName": NAME, "coElNo": coElNo, "invtNo": invt_no,
        "tradeMode": "9661", "agentCode": CODE, "agentName": NAME, "billNo": f"BACK-{coElNo}",
        "ieFlag": "I", "trafMode": "5", "trafName": "CA926", "portCode": "1501",
        "reason": "买家退货", "country": "116", "voyageNo": "CA926", **head,
    }  # fmt: skip
    goods = {"gcode": "9503008900", "gname": "积木", "gmodel": "1个", "unit": "007", "unit1": "007"}
    return write_message("CEB213Message", [(fields, [{**goods, **line} for line in lines])], SENDER)


def _tally(coElNo: str, waybill: str, **head: str) -> bytes:
    fields = {
        "guid": str(uuid.uuid4()).upper(), "appType": "1", "appTime": "20241002100000",
        "appStatus": "2", "customsCode": "1501", "operatorCode": CODE, "operatorName": NAME,
        "logisticsCode": CODE, "logisticsName": NAME, "logisticsNo": waybill,
        "coElNo": coElNo, "billNo": waybill, "ieFlag": "I", "trafMode": "5",
        "trafName": "CA926", "voyageNo": "CA926", **head,
    }  # fmt: skip
    return write_message("CEB215Message", [(fields, [])], SENDER)


def test_released_goods_come_back_on_an_accepted_return_released_by_its_tally(
    broker, customs, risk_engine, customs_api
):
    with workers(broker, customs, risk_engine):
        inventory = _answer(customs, builders.export_inventory_message("T1"))
        number = inventory.keys["invtNo"]
        early = _answer(customs, _return("RET0", number))
        _answer(customs, _arrival("ARR-T1", ["L-T1"]))
        wrong = _answer(
            customs,
            _return(
                "RET1",
                number,
                [
                    {"gnum": "1", "qty": "2", "qty1": "1", "gcode": "9503008901"},
                    {"gnum": "7", "qty": "1", "qty1": "1"},
                ],
                ebcCode="3301960009",
                country="142",
                tradeMode="1261",
            ),
        )
        accepted = _answer(customs, _return("RET2", number))
        too_much = _answer(customs, _return("RET3", number))
        nowhere = _answer(customs, _return("RET4", "15012024E999999999"))
        stray = _answer(customs, _tally("TAL0", "BACK-NOWHERE"))
        other_inventory = _answer(customs, _tally("TAL1", "BACK-RET2", invtNo="15012024E000000404"))
        tallied = _answer(customs, _tally("TAL2", "BACK-RET2", invtNo=number))
        twice = _answer(customs, _tally("TAL3", "BACK-RET2"))
        summary = _answer(customs, _summary("SUM-T1", [number]))
        events = _clearance_events(broker.settings, wanted=5)

    assert early.return_status == 100
    assert f"inventory {number} is accepted (120); goods are returned only once released" in (
        early.return_info
    )
    assert wrong.return_status == 100
    for why in (
        f"ebcCode '3301960009' is not inventory {number}'s ('{CODE}')",
        "country 142: the goods come back from abroad",
        "tradeMode 1261: the return of a 9610 export is declared 9661",
        "line 1 gcode '9503008901' is not the inventory's ('9503008900')",
        "line 1 returns qty 2 but 1 of 1 declared is left to return",
        f"line gnum '7' is not a line of inventory {number}",
    ):
        assert why in wrong.return_info
    assert accepted.return_status == 120, accepted.return_info
    assert accepted.receipt_message == "CEB214Message"
    assert too_much.return_status == 100
    assert "line 1 returns qty 1 but 0 of 1 declared is left to return" in too_much.return_info
    assert nowhere.return_status == 100 and "no export inventory 15012024E999999999" in (
        nowhere.return_info
    )

    assert stray.return_status == 100
    assert f"waybill {CODE}/BACK-NOWHERE: no export return (CEB213)" in stray.return_info
    assert other_inventory.return_status == 100
    assert "invtNo 15012024E000000404 is not the return's inventory" in other_inventory.return_info
    assert tallied.return_status == 399, tallied.return_info
    assert _statuses(customs, accepted.reference) == [2, 120, 800]
    assert twice.return_status == 100 and "tallied and released already (800)" in (
        twice.return_info
    )
    assert _statuses(customs, inventory.reference) == [2, 120, 399, 800]  # CEB604 unchanged
    assert summary.return_status == 100
    assert f"inventory {number} has a return of its goods (CEB213)" in summary.return_info

    declaration = customs_api.get(
        f"/v1/declarations/{_declaration(customs_api, 'EXP-T1')['id']}"
    ).json()
    assert declaration["direction"] == "export"
    returns = [
        (e["return_status"], e["receipt_message"], e["document_id"])
        for e in events
        if e["receipt_message"] == "CEB214Message"
    ]
    assert returns == [
        (120, "CEB214Message", accepted.reference),
        (800, "CEB214Message", accepted.reference),
    ]


# --- the rules, on their own --------------------------------------------------------------

ORIGINAL = {"ebpCode": "P", "ebcCode": "E", "tradeMode": "1210"}
LINE = {"gnum": "1", "gcode": "9503008900", "gname": "积木", "gmodel": "1个", "unit": "007",
        "unit1": "007", "qty": "3", "qty1": "3"}  # fmt: skip
HEAD = {"ebpCode": "P", "ebcCode": "E", "ieFlag": "I", "country": "116", "tradeMode": "1261"}


def _problems(head=HEAD, lines=(LINE,), status=899, returned=None, **inventory):
    return rules.return_problems(
        head,
        lines,
        inventory=Inventory("I1", status, **inventory),
        original_head=ORIGINAL,
        original_lines=[LINE],
        returned=returned or {},
    )


def test_a_return_of_released_or_departed_goods_as_declared_has_no_problem():
    assert _problems() == []
    assert _problems(status=800) == []
    assert _problems(head={**HEAD, "tradeMode": ""}) == []  # tradeMode is optional in the XSD


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"status": 120}, "inventory I1 is accepted (120); goods are returned only once"),
        ({"status": 100}, "inventory I1 is rejected or cancelled (100)"),
        ({"cancelled": True}, "inventory I1 was cancelled: nothing left the country"),
        ({"head": {**HEAD, "ieFlag": "E"}}, "ieFlag 'E': a return of exported goods carries I"),
        ({"head": {**HEAD, "tradeMode": "9661"}}, "the return of a 1210 export is declared 1261"),
        ({"head": {**HEAD, "ebpCode": "X"}}, "ebpCode 'X' is not inventory I1's ('P')"),
        ({"lines": ({**LINE, "unit": "035"},)}, "line 1 unit '035' is not the inventory's"),
        (
            {"returned": {1: {"qty1": Decimal("2.5")}}},
            "line 1 returns qty1 3 but 0.5 of 3 declared is left to return",
        ),
    ],
)
def test_a_return_that_does_not_fit_its_inventory_names_why(kwargs, why):
    assert any(why in problem for problem in _problems(**kwargs)), _problems(**kwargs)


def test_a_tally_releases_only_an_accepted_return_of_its_own_inventory():
    head = {"ieFlag": "I", "logisticsCode": "C", "logisticsNo": "W", "invtNo": "I1"}
    assert rules.tally_problems(head, return_invt_no="I1", return_status=120) == []
    assert rules.tally_problems(head, return_invt_no=None, return_status=None) == [
        "waybill C/W: no export return (CEB213) customs accepted"
    ]
    assert rules.tally_problems(head, return_invt_no="I2", return_status=120) == [
        "invtNo I1 is not the return's inventory (I2)"
    ]
    assert rules.tally_problems({**head, "ieFlag": "E"}, return_invt_no="I1", return_status=120)
    assert rules.quantities([{"gnum": "1", "qty": "1"}, {"gnum": "1", "qty": "2"}]) == {
        1: {"qty": Decimal(3)}
    }


def test_a_return_deleted_before_its_tally_is_withdrawn_and_one_tallied_stands(
    broker, customs, risk_engine
):
    with workers(broker, customs, risk_engine):
        inventory = _answer(customs, builders.export_inventory_message("T9"))
        number = inventory.keys["invtNo"]
        _answer(customs, _arrival("ARR-T9", ["L-T9"]))
        first = _answer(customs, _return("RET9", number))
        deleted = _answer(customs, _return("RET9", number, appType="3"))
        again = _answer(customs, _return("RET10", number))  # the same goods: free again
        _answer(customs, _tally("TAL9", "BACK-RET10", invtNo=number))
        too_late = _answer(customs, _return("RET10", number, appType="3"))

    assert first.return_status == 120, first.return_info
    assert deleted.return_status == 120, deleted.return_info
    assert f"the return of goods of export inventory {number}" in deleted.return_info
    assert "withdrawn" in deleted.return_info
    assert again.return_status == 120, again.return_info
    assert _statuses(customs, again.reference) == [2, 120, 800]
    assert too_late.return_status == 100
    assert "was tallied and its goods released (800): it cannot be deleted" in (
        too_late.return_info
    )
