"""The export inventory's lifecycle: CEB603 accepted and numbered, released on arrival (CEB507),
linked to a master bill (CEB607), closed on departure (CEB509), cancelled before release
(CEB605)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import pytest
from lxml import etree

from customs import export_views, service
from customs.ceb.schema import schema_for
from customs.ceb.writer import Sender, write_message
from customs.domain import export_clearance as rules
from customs.domain.clearance import allowed_codes
from customs.domain.export_clearance import Inventory, Step, StepRefused
from tests.customs import builders
from tests.support import wait_for
from tests.test_flow import workers

CONSIGNOR = "1105910159"
NAME = "东方物通科技(北京)有限公司"
SENDER = Sender(CONSIGNOR, "东方物通")
EXPORT_INVT_NO = re.compile(r"1501\d{4}E\d{9}")  # district + year + E + 9-digit serial: 18


# --- building the messages ----------------------------------------------------------------


def _common(copNo: str) -> dict[str, str]:
    return {
        "guid": str(uuid.uuid4()).upper(),
        "appType": "1",
        "appTime": "20240901100000",
        "appStatus": "2",
        "customsCode": "1501",
        "copNo": copNo,
    }


def _inventory(copNo: str, *, invt_no: str | None = None) -> bytes:
    return builders.export_inventory_message(copNo, invt_no=invt_no)


def _lines(waybills: Sequence[str]) -> list[dict[str, str]]:
    return [{"gnum": str(n), "logisticsNo": w} for n, w in enumerate(waybills, start=1)]


def _arrival(copNo: str, waybills: Sequence[str]) -> bytes:
    head = {
        **_common(copNo),
        "operatorCode": CONSIGNOR,
        "operatorName": NAME,
        "ieFlag": "E",
        "trafMode": "4",
        "domesticTrafNo": "京A12345",
        "logisticsCode": CONSIGNOR,
        "logisticsName": NAME,
        "msgCount": "1",
        "msgSeqNo": "1",
    }
    return write_message("CEB507Message", [(head, _lines(waybills))], SENDER)


def _bill_link(
    copNo: str, bill_no: str, lines: Sequence[tuple[str, str | None]], app_type: str = "1"
) -> bytes:
    """A CEB607 linking (logisticsNo, invtNo or None) lines under a master bill."""
    head = {
        **_common(copNo),
        "appType": app_type,
        "agentCode": CONSIGNOR,
        "agentName": NAME,
        "trafMode": "5",
        "trafName": "CA925",
        "voyageNo": "CA925",
        "billNo": bill_no,
        "grossWeight": "5",
        "logisticsCode": CONSIGNOR,
        "logisticsName": NAME,
        "msgCount": "1",
        "msgSeqNo": "1",
    }
    listed = [
        {"gnum": str(n), "logisticsNo": waybill, **({"invtNo": number} if number else {})}
        for n, (waybill, number) in enumerate(lines, start=1)
    ]
    return write_message("CEB607Message", [(head, listed)], SENDER)


def _departure(
    copNo: str,
    waybills: Sequence[str],
    *,
    bill_no: str | None = None,
    part: tuple[int, int] = (1, 1),
) -> bytes:
    head = {
        **_common(copNo),
        "logisticsCode": CONSIGNOR,
        "logisticsName": NAME,
        "trafMode": "5",
        **({"billNo": bill_no} if bill_no else {}),
        "leaveTime": "20240902080000",
        "msgCount": str(part[1]),
        "msgSeqNo": str(part[0]),
    }
    return write_message("CEB509Message", [(head, _lines(waybills))], SENDER)


def _cancellation(copNo: str, invt_no: str) -> bytes:
    head = {
        **_common(copNo),
        "invtNo": invt_no,
        "reason": "买家取消订单",
        "agentCode": CONSIGNOR,
        "agentName": NAME,
        "ebcCode": CONSIGNOR,
        "ebcName": NAME,
    }
    return write_message("CEB605Message", [(head, [])], SENDER)


def _summary(copNo: str, invt_nos: Sequence[str] = (), **window: str) -> bytes:
    head = {
        **_common(copNo),
        "agentCode": CONSIGNOR,
        "agentName": NAME,
        "ebcCode": CONSIGNOR,
        "ebcName": NAME,
        "declAgentCode": CONSIGNOR,
        "declAgentName": NAME,
        **window,
        "summaryFlag": "1",
        "itemNameFlag": "1",
        "msgCount": "1",
        "msgSeqNo": "1",
    }
    return write_message("CEB701Message", [(head, [{"invtNo": n} for n in invt_nos])], SENDER)


# --- running them through customs ---------------------------------------------------------


def _answer(customs, body: bytes) -> service.ReceiptView:
    """Submit a message of one document and wait for customs' decision on it."""
    reference = service.submit_message(customs, body, correlation_id="export-flow")
    document = reference.documents[0].reference
    return wait_for(
        lambda: (v := service.receipt_view(customs, document)).return_status != 2 and v,
        timeout_s=15,
    )


def _statuses(customs, reference: str) -> list[int]:
    return [r["returnStatus"] for r in service.receipt_view(customs, reference).history]


def test_an_export_inventory_is_numbered_released_on_arrival_linked_and_closed_on_departure(
    broker, customs, risk_engine, customs_api
):
    with workers(broker, customs, risk_engine):
        first, second = _answer(customs, _inventory("A1")), _answer(customs, _inventory("A2"))
        arrival = _answer(customs, _arrival("ARR1", ["L-A1", "L-A2"]))
        released = [_statuses(customs, r.reference) for r in (first, second)]
        numbers = [first.keys["invtNo"], second.keys["invtNo"]]
        link = _answer(customs, _bill_link("WB1", "BILL-1", [("L-A1", numbers[0]), ("L-A2", None)]))
        departure = _answer(customs, _departure("DEP1", ["L-A1"], bill_no="BILL-1", part=(1, 2)))
        last_part = _answer(customs, _departure("DEP1", ["L-A2"], bill_no="BILL-1", part=(2, 2)))

    assert (first.return_status, second.return_status) == (120, 120), first.return_info
    assert all(EXPORT_INVT_NO.fullmatch(n) for n in numbers) and numbers[0] != numbers[1]
    assert numbers[0] in first.return_info
    ceb604 = etree.fromstring(first.as_xml())
    assert schema_for("export").validate(ceb604)
    assert ceb604.findtext(".//{*}invtNo") == numbers[0]  # the CEB604 carries the number

    assert arrival.return_status == 399, arrival.return_info
    assert released == [[2, 120, 399, 800]] * 2
    assert link.return_status == 399, link.return_info
    assert departure.return_status == 399, departure.return_info
    # the second inventory was not listed: it left with the bill the CEB607 put it under
    assert [_statuses(customs, r.reference) for r in (first, second)] == [
        [2, 120, 399, 800, 899]
    ] * 2
    # the split departure's last part lists what its first part closed with the bill
    assert last_part.return_status == 399, last_part.return_info
    assert f"closed already with bill BILL-1: {numbers[1]}" in last_part.return_info

    pulled = customs_api.get(f"/v1/receipts/{second.reference}").json()
    assert (pulled["messageType"], pulled["invtNo"], pulled["returnStatus"]) == (
        "CEB604Message",
        numbers[1],
        899,
    )
    assert "DEP1" in pulled["returnInfo"]
    xml = customs_api.get(f"/v1/receipts/{second.reference}?format=xml")
    assert etree.fromstring(xml.content).findtext(".//{*}returnStatus") == "899"


def test_an_export_inventory_is_cancelled_before_release_and_not_after(
    broker, customs, risk_engine
):
    with workers(broker, customs, risk_engine):
        pending, shipped = _answer(customs, _inventory("C1")), _answer(customs, _inventory("C2"))
        pending_no, shipped_no = pending.keys["invtNo"], shipped.keys["invtNo"]
        cancelled = _answer(customs, _cancellation("CAN1", pending_no))
        _answer(customs, _arrival("ARR2", ["L-C2"]))
        too_late = _answer(customs, _cancellation("CAN2", shipped_no))
        unknown = _answer(customs, _cancellation("CAN3", "15012024E999999999"))
        arrival_of_cancelled = _answer(customs, _arrival("ARR3", ["L-C1"]))
        listed = _answer(customs, _summary("SUM1", [pending_no]))
        window = _answer(
            customs, _summary("SUM2", startTime="20240901000000", endTime="20240901235959")
        )

    assert cancelled.return_status == 399, cancelled.return_info
    inventory = service.receipt_view(customs, pending.reference)
    assert (inventory.return_status, _statuses(customs, pending.reference)) == (100, [2, 120, 100])
    assert "cancelled" in inventory.return_info and "CAN1" in inventory.return_info

    assert too_late.return_status == 100
    assert f"inventory {shipped_no} is released (800)" in too_late.return_info
    assert "no export cancellation error code" in too_late.return_info
    assert service.receipt_view(customs, shipped.reference).return_status == 800
    assert unknown.return_status == 100 and "15012024E999999999" in unknown.return_info

    assert arrival_of_cancelled.return_status == 100
    assert f"inventory {pending_no} was cancelled" in arrival_of_cancelled.return_info
    assert listed.return_status == 100
    assert f"inventory {pending_no} was cancelled (CEB605)" in listed.return_info
    assert window.return_status == 399, window.return_info  # it takes the other one only
    assert export_views.summary_view(customs, window.reference).inventories == (shipped_no,)


def test_what_customs_does_not_hold_or_has_not_released_is_refused_and_nothing_moves(
    broker, customs, risk_engine
):
    with workers(broker, customs, risk_engine):
        own = _answer(customs, _inventory("E1", invt_no="15012024E000000001"))
        reused = _answer(customs, _inventory("E2", invt_no="15012024E000000001"))
        numbered = _answer(customs, _inventory("E3"))
        departure = _answer(customs, _departure("DEP2", ["L-E1"]))
        arrival = _answer(customs, _arrival("ARR4", ["L-E1", "L-NOWHERE"]))
        link = _answer(customs, _bill_link("WB2", "BILL-2", [("L-X", "15012024E000000404")]))
        change = _answer(customs, _inventory("E3").replace(b"<ceb:appType>1<", b"<ceb:appType>2<"))

    assert own.return_status == 120 and own.keys["invtNo"] == "15012024E000000001"
    assert reused.return_status == 100 and "is another inventory's" in reused.return_info
    # the district's first number is the one E1 declared itself: customs skips it
    assert numbered.return_status == 120 and numbered.keys["invtNo"] == "15012024E000000002"

    assert departure.return_status == 100
    assert "inventory 15012024E000000001 is accepted (120)" in departure.return_info
    assert "released (800) goods only" in departure.return_info
    assert arrival.return_status == 100
    assert "waybill L-NOWHERE: no export inventory customs holds" in arrival.return_info
    assert _statuses(customs, own.reference) == [2, 120]  # nothing moved
    assert link.return_status == 100 and "15012024E000000404" in link.return_info
    assert change.return_status == 100 and "cancel it (CEB605)" in change.return_info


# --- the rules, on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "status", "codes"),
    [
        (Step.ARRIVE, 120, (399, 800)),
        (Step.DEPART, 800, (899,)),
        (Step.CANCEL, 120, (100,)),
        (Step.CANCEL, 300, (100,)),
        (Step.CANCEL, 399, (100,)),
        (Step.LINK, 120, ()),
        (Step.LINK, 800, ()),
    ],
)
def test_a_step_from_a_state_it_allows_issues_its_ceb604_receipts(step, status, codes):
    assert rules.receipts(Inventory("I1", status), step) == codes
    assert set(codes) <= allowed_codes("CEB604")


@pytest.mark.parametrize(
    ("step", "status", "why"),
    [
        (Step.ARRIVE, 800, "is released (800); the arrival (CEB507) takes only an accepted"),
        (Step.ARRIVE, 300, "is under manual review (300)"),
        (Step.DEPART, 120, "is accepted (120); the departure (CEB509) takes released (800)"),
        (Step.DEPART, 899, "is closed (899)"),
        (Step.CANCEL, 800, "is released (800); the cancellation (CEB605) takes only before"),
        (Step.CANCEL, 899, "is closed (899)"),
        (Step.LINK, 899, "is closed (899); the master/house bill link (CEB607) takes one that"),
    ],
)
def test_a_step_from_a_state_it_does_not_allow_is_refused_with_the_state_named(step, status, why):
    with pytest.raises(StepRefused) as refused:
        rules.receipts(Inventory("I1", status), step)
    assert f"inventory I1 {why}" in str(refused.value)


@pytest.mark.parametrize("step", list(Step))
def test_a_cancelled_inventory_takes_no_further_step(step):
    assert rules.refusal(Inventory("I1", 120, cancelled=True), step) == "inventory I1 was cancelled"


def test_a_summarised_inventory_is_not_cancelled():
    summarised = Inventory("I1", 120, summarised_in="S20240901000000001")
    assert (
        rules.refusal(summarised, Step.CANCEL) == "inventory I1 is summarised in S20240901000000001"
    )
    assert rules.refusal(summarised, Step.ARRIVE) is None


def test_a_waybill_number_names_the_open_inventory_then_the_named_carriers():
    closed, open_ = Inventory("OLD", 899, "C1"), Inventory("NEW", 120, "C1")
    assert rules.choose([closed, open_], logistics_code="C9") == open_
    mine, theirs = Inventory("A", 120, "C1"), Inventory("B", 120, "C2")
    assert rules.choose([mine, theirs], logistics_code="C2") == theirs
    assert rules.choose([mine, Inventory("B", 120, "C1")], logistics_code="C1") is None
    assert rules.choose([], logistics_code="C1") is None


def test_a_bill_link_takes_an_inventory_on_its_own_waybill_under_one_bill_unless_changed():
    inventory = Inventory("I1", 800, logistics_no="L1")
    link = {"waybill": "L1", "bill": "B2", "linked_to": None, "may_move": False}
    assert rules.link_problems(inventory, **link) == []
    assert rules.link_problems(inventory, **{**link, "waybill": "L9"}) == [
        "waybill L9 is not inventory I1's (L1)"
    ]
    assert rules.link_problems(inventory, **{**link, "linked_to": "B1"}) == [
        "inventory I1 travels under bill B1 already"
    ]
    assert rules.link_problems(inventory, **{**link, "linked_to": "B1", "may_move": True}) == []
    closed = Inventory("I1", 899, logistics_no="L1")
    assert "is closed (899)" in rules.link_problems(closed, **link)[0]


def test_a_bill_link_deletion_takes_an_inventory_only_off_its_own_bill():
    inventory = Inventory("I1", 800, logistics_no="L1")
    assert rules.unlink_problems(inventory, bill="B1", linked_to="B1") == []
    assert rules.unlink_problems(inventory, bill="B1", linked_to="B2") == [
        "inventory I1 is not linked under bill B1 (it travels under B2)"
    ]
    assert rules.unlink_problems(inventory, bill="B1", linked_to=None) == [
        "inventory I1 is not linked under bill B1"
    ]
    left = Inventory("I1", 899, logistics_no="L1")
    assert "is closed (899)" in rules.unlink_problems(left, bill="B1", linked_to="B1")[0]


def test_a_deleted_bill_link_frees_the_inventory_for_another_bill(broker, customs, risk_engine):
    with workers(broker, customs, risk_engine):
        inventory = _answer(customs, _inventory("D1"))
        _answer(customs, _arrival("ARR-D", ["L-D1"]))
        number = inventory.keys["invtNo"]
        linked = _answer(customs, _bill_link("WB-D1", "BILL-D1", [("L-D1", number)]))
        elsewhere = _answer(customs, _bill_link("WB-D2", "BILL-D2", [("L-D1", number)]))
        # a deletion names the link it deletes (same agent and copNo), as every appType 3 does
        wrong = _answer(customs, _bill_link("WB-D1", "BILL-D9", [("L-D1", number)], "3"))
        deleted = _answer(customs, _bill_link("WB-D1", "BILL-D1", [("L-D1", number)], "3"))
        moved = _answer(customs, _bill_link("WB-D5", "BILL-D2", [("L-D1", number)]))
    assert linked.return_status == 399, linked.return_info
    assert elsewhere.return_status == 100 and "travels under bill BILL-D1" in elsewhere.return_info
    assert wrong.return_status == 100 and "not linked under bill BILL-D9" in wrong.return_info
    assert deleted.return_status == 399 and "taken off bill BILL-D1" in deleted.return_info
    assert moved.return_status == 399, moved.return_info


def test_an_arrival_names_export_goods_in_a_part_that_fits_its_count():
    head = {"ieFlag": "E", "msgCount": "2", "msgSeqNo": "2"}
    assert rules.arrival_problems(head, ["L1"]) == []
    assert any("ieFlag" in p for p in rules.arrival_problems({**head, "ieFlag": "I"}, ["L1"]))
    assert any("X19" in p for p in rules.arrival_problems({**head, "msgSeqNo": "3"}, ["L1"]))
    assert any("lists no waybill" in p for p in rules.arrival_problems(head, []))


def test_a_cancellation_comes_from_the_inventorys_declarant_at_its_customs():
    inventory = {"agentCode": "A", "ebcCode": "E", "customsCode": "1501"}
    assert rules.cancel_problems(inventory, inventory) == []
    problems = rules.cancel_problems({**inventory, "agentCode": "X"}, inventory)
    assert problems == ["agentCode 'X' is not the inventory's ('A')"]


def test_a_refusal_is_100_naming_every_reason_within_1000_characters():
    decision = rules.refused("arrival", ["one", "two" * 600])
    assert (decision.return_status, decision.accepted) == (100, False)
    assert decision.return_info.startswith("退单 / the arrival is refused: one; two")
    assert len(decision.return_info) <= 1000
