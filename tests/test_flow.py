"""The first flow through every layer but HTTP processes: customs and risk workers on the broker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from customs import certificates, clearance_service, quota_store, service
from customs.ceb.signature import SM2_SM3
from customs.ceb.writer import Sender, write_message
from customs.db import BuyerQuota
from customs.db import runtime as customs_runtime
from customs.domain.clearance import Action, TransitionRefused
from customs.handlers import TOPICS as CUSTOMS_TOPICS
from customs.handlers import handlers
from customs.quota_store import to_units
from messaging.worker import Worker, WorkerSpec
from risk.db import Observation
from risk.db import runtime as risk_runtime
from risk.domain.rules import RuleSet
from risk.handlers import handlers as risk_handlers
from schemas.topics import CUSTOMS_EVENTS
from tests.customs import builders
from tests.support import Identity, sample, unsigned, wait_for


@contextmanager
def workers(
    broker, customs, risk_engine, rules: RuleSet | None = None
) -> Iterator[tuple[Worker, Worker]]:
    customs_worker = Worker(
        WorkerSpec("customs", customs.engine, customs_runtime, CUSTOMS_TOPICS, handlers(customs)),
        broker.settings,
    )
    risk = Worker(
        WorkerSpec(
            "risk",
            risk_engine,
            risk_runtime,
            (CUSTOMS_EVENTS,),
            risk_handlers(rules or RuleSet(random_inspection_rate=Decimal(0))),
        ),
        broker.settings,
    )
    for worker in (customs_worker, risk):
        worker.start()
    try:
        yield customs_worker, risk
    finally:
        for worker in (customs_worker, risk):
            worker.stop.set()
        for worker in (customs_worker, risk):
            worker.join()
    assert not customs_worker.failed and not risk.failed


def test_an_order_goes_from_2_to_120_and_reaches_risk(broker, customs, risk_engine):
    accepted = service.submit_message(
        customs, unsigned(sample("import", "CEB311Message")), correlation_id="flow-1"
    )
    first, *repeats = accepted.documents
    with workers(broker, customs, risk_engine):
        wait_for(lambda: service.receipt_view(customs, first.reference).return_status == 120)
        for repeat in repeats:
            wait_for(
                lambda r=repeat: service.receipt_view(customs, r.reference).return_status == -301010
            )
        wait_for(lambda: _observations(risk_engine), timeout_s=10)

    view = service.receipt_view(customs, first.reference)
    assert [h["returnStatus"] for h in view.history] == [2, 120]
    (observation,) = _observations(risk_engine)
    assert observation.document_id == first.reference
    assert observation.business_key == "order20160321116421002"
    assert str(observation.goods_value) == "14000.00000"  # decimal(19,5) on both databases
    assert observation.correlation_id == "flow-1"
    rejected = service.receipt_view(customs, repeats[0].reference)
    assert "-301010" in rejected.return_info


def test_an_order_number_declared_again_in_a_later_message_gets_301010(
    broker, customs, risk_engine
):
    one_order = _single_order(unsigned(sample("import", "CEB311Message")))
    earlier = service.submit_message(customs, one_order, correlation_id="a").documents[0]
    with workers(broker, customs, risk_engine):
        wait_for(lambda: service.receipt_view(customs, earlier.reference).return_status == 120)
        later = service.submit_message(customs, one_order, correlation_id="b").documents[0]
        wait_for(lambda: service.receipt_view(customs, later.reference).return_status == -301010)
        wait_for(lambda: _observations(risk_engine))
    assert len(_observations(risk_engine)) == 1


def _observations(engine) -> list[Observation]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.execute(select(Observation)).scalars())


def _single_order(message: bytes) -> bytes:
    from lxml import etree

    from customs.ceb.schema import CEB_NS

    root = etree.fromstring(message)
    for extra in root.findall(f"{{{CEB_NS}}}Order")[1:]:
        root.remove(extra)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- complete import declarations ---------------------------------------------------------

MESSAGE_TYPES = {
    "order": "CEB311Message",
    "payment": "CEB411Message",
    "waybill": "CEB511Message",
    "inventory": "CEB621Message",
}
SENDERS = {
    "order": "ebpCode",
    "payment": "payCode",
    "waybill": "logisticsCode",
    "inventory": "agentCode",
}


def submit_set(customs, declaration, *, order=("inventory", "waybill", "payment", "order")):
    """Submit the four documents, each from its own enterprise, in the given order; the
    inventory signed (SM2) by its declarant, whose certificate is registered first."""
    identity = Identity.make(SM2_SM3)
    agent = declaration.inventory.head["agentCode"]
    certificates.register(
        customs, enterprise_code=agent, certificate=identity.pem, algorithms=[SM2_SM3]
    )
    references = {}
    for role in order:
        doc = getattr(declaration, role)
        body = write_message(
            MESSAGE_TYPES[role], [(doc.head, doc.lines)], Sender(doc.head[SENDERS[role]], role)
        )
        if role == "inventory":
            body = identity.sign(body)
        references[role] = (
            service.submit_message(customs, body, correlation_id=f"set-{role}")
            .documents[0]
            .reference
        )
    return references


def _declaration(customs, order_no: str):
    found = clearance_service.find_declarations(customs, order_no=order_no)
    return clearance_service.declaration_view(customs, found[0]["id"]) if found else None


def _settled(customs, order_no: str, *states: int):
    view = _declaration(customs, order_no)
    return view if view and view["status"] in states else None


def test_a_complete_declaration_arriving_in_any_order_is_matched_taxed_routed_and_released(
    broker, customs, risk_engine
):
    declaration = builders.declaration_set()
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, declaration)
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 800), timeout_s=15)
    inventory = service.receipt_view(customs, refs["inventory"])
    assert [h["returnStatus"] for h in inventory.history] == [2, 120, 399, 800]
    assert view["tax"]["totalTax"] == "19.11"  # §c.3: 9.1% of 210.00
    assert view["route"] == "release"
    assert [r["code"] for r in view["risk"]["reasons"]] == ["new-enterprise", "new-platform"]
    assert view["mismatches"] == []
    assert view["documents"]["order"]["head"]["buyerIdNumber"] == "330***********123X"
    assert [d["actor"] for d in view["decisions"]] == ["risk"]

    revealed = clearance_service.reveal(
        customs, view["id"], officer="officer-7", reason="buyer disputes the charge"
    )
    assert revealed["order"]["buyerIdNumber"] == builders.BUYER_ID
    assert revealed["waybill"]["consigneeAddress"] == builders.ADDRESS
    audited = _declaration(customs, builders.ORDER_NO)
    assert [(r["officer"], r["reason"]) for r in audited["reveals"]] == [
        ("officer-7", "buyer disputes the charge")
    ]
    assert audited["documents"]["order"]["head"]["buyerIdNumber"] == "330***********123X"


def test_documents_that_do_not_match_reject_the_inventory_with_the_field_level_difference(
    broker, customs, risk_engine
):
    declaration = builders.declaration_set(payment={"amountPaid": "224.00"})
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, declaration, order=("order", "payment", "inventory", "waybill"))
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 100), timeout_s=15)
    (x4,) = [m for m in view["mismatches"] if m["rule"] == "X4"]
    assert (x4["left_value"], x4["right_value"]) == ("224.11", "224.00")
    receipt = service.receipt_view(customs, refs["inventory"])
    assert receipt.return_status == 100
    assert "X4" in receipt.return_info


def test_a_buyer_over_the_annual_quota_gets_621018(broker, customs, risk_engine):
    declaration = builders.declaration_set()
    buyer = customs.vault.buyer_key("1", builders.BUYER_ID)
    with Session(customs.engine) as session, session.begin():
        session.add(BuyerQuota(buyer_key=buyer, year=2024, used_units=to_units(Decimal("25900"))))
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, declaration)
        wait_for(lambda: _settled(customs, builders.ORDER_NO, -621018), timeout_s=15)
    assert service.receipt_view(customs, refs["inventory"]).return_status == -621018


def test_a_flagged_declaration_waits_in_review_until_an_officer_releases_it(
    broker, customs, risk_engine
):
    # high value (30) + a first-time enterprise (25) and platform (10) = 65: manual review
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, declaration)
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 300), timeout_s=15)
        assert {r["code"] for r in view["risk"]["reasons"]} == {
            "high-value",
            "new-enterprise",
            "new-platform",
        }
        codes = clearance_service.decide(
            customs,
            view["id"],
            clearance_service.OfficerDecision(
                action=Action.RELEASE, officer="officer-7", reason="invoice checked"
            ),
            correlation_id="officer-req-1",
        )
    assert codes == (399, 800)
    history = service.receipt_view(customs, refs["inventory"]).history
    assert [h["returnStatus"] for h in history] == [2, 120, 300, 399, 800]
    decisions = _declaration(customs, builders.ORDER_NO)["decisions"]
    assert [(d["actor"], d["to"]) for d in decisions] == [("risk", 300), ("officer-7", 800)]


def submit_request(customs, message_type: str, doc) -> str:
    """A cancellation or return, signed by the declarant (registered first)."""
    identity = Identity.make(SM2_SM3)
    agent = doc.head["agentCode"]
    certificates.register(
        customs, enterprise_code=agent, certificate=identity.pem, algorithms=[SM2_SM3]
    )
    body = identity.sign(write_message(message_type, [(doc.head, doc.lines)], Sender(agent, "a")))
    return service.submit_message(customs, body, correlation_id="request").documents[0].reference


def _receipt(customs, reference: str, *codes: int):
    view = service.receipt_view(customs, reference)
    return view if view.return_status in codes else None


def _quota_used(customs) -> Decimal:
    with Session(customs.engine) as session:
        return quota_store.used(
            session, buyer_key=customs.vault.buyer_key("1", builders.BUYER_ID), year=2024
        )


def test_an_inventory_cancelled_before_release_gives_the_quota_back(broker, customs, risk_engine):
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, declaration)
        wait_for(lambda: _settled(customs, builders.ORDER_NO, 300), timeout_s=15)
        assert _quota_used(customs) == Decimal("4510.00000")
        invt_no = service.receipt_view(customs, refs["inventory"]).keys["invtNo"]
        assert invt_no.startswith("29912024I") and len(invt_no) == 18
        request = submit_request(customs, "CEB623Message", builders.cancel(invtNo=invt_no))
        receipt = wait_for(lambda: _receipt(customs, request, 399, 100, -623005), timeout_s=15)
        assert receipt.return_status == 399, receipt.return_info
        assert _quota_used(customs) == 0
        view = _declaration(customs, builders.ORDER_NO)
        with pytest.raises(TransitionRefused, match="cancelled"):
            clearance_service.decide(
                customs,
                view["id"],
                clearance_service.OfficerDecision(Action.RELEASE, "officer-7", "too late"),
                correlation_id="x",
            )


def test_a_released_inventory_cannot_be_cancelled(broker, customs, risk_engine):
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, builders.declaration_set())
        wait_for(lambda: _settled(customs, builders.ORDER_NO, 800), timeout_s=15)
        invt_no = service.receipt_view(customs, refs["inventory"]).keys["invtNo"]
        request = submit_request(customs, "CEB623Message", builders.cancel(invtNo=invt_no))
        receipt = wait_for(lambda: _receipt(customs, request, 399, 100, -623005), timeout_s=15)
    assert receipt.return_status == -623005
    assert _quota_used(customs) == Decimal("210.00000")


def test_returning_part_of_released_goods_gives_that_share_of_the_quota_back(
    broker, customs, risk_engine
):
    with workers(broker, customs, risk_engine):
        refs = submit_set(customs, builders.declaration_set())
        wait_for(lambda: _settled(customs, builders.ORDER_NO, 800), timeout_s=15)
        invt_no = service.receipt_view(customs, refs["inventory"]).keys["invtNo"]
        one_can = [
            {"gnum": "1", "gcode": "1901101000", "gname": "婴儿奶粉", "qty": "1", "unit": "122"}
        ]
        request = submit_request(
            customs, "CEB625Message", builders.refund(invtNo=invt_no, lines=one_can)
        )
        receipt = wait_for(lambda: _receipt(customs, request, 399, 100, -625209), timeout_s=15)
        assert receipt.return_status == 399, receipt.return_info
        assert _quota_used(customs) == Decimal("105.00000")  # half the goods: half of 210.00
        wrong_line = [
            {"gnum": "7", "gcode": "1901101000", "gname": "奶瓶", "qty": "1", "unit": "122"}
        ]
        refused = submit_request(
            customs,
            "CEB625Message",
            builders.refund(invtNo=invt_no, lines=wrong_line, copNo="R2", appTime="20240911100000"),
        )
        receipt = wait_for(lambda: _receipt(customs, refused, 399, 100, -625209), timeout_s=15)
    assert receipt.return_status == -625209


def test_a_deleted_order_leaves_its_declaration_until_a_new_one_comes(broker, customs, risk_engine):
    declaration = builders.declaration_set()
    order = declaration.order
    deleted = dict(order.head, appType="3", appTime="20240901110000")
    with workers(broker, customs, risk_engine):
        submit_set(customs, declaration, order=("order", "payment"))
        wait_for(lambda: _declaration(customs, builders.ORDER_NO), timeout_s=15)
        body = write_message(
            "CEB311Message", [(deleted, order.lines)], Sender(order.head["ebpCode"], "p")
        )
        reference = (
            service.submit_message(customs, body, correlation_id="del").documents[0].reference
        )
        wait_for(lambda: _receipt(customs, reference, 120), timeout_s=15)
        view = wait_for(
            lambda: (
                (v := _declaration(customs, builders.ORDER_NO))
                and v["documents"]["order"] is None
                and v
            ),
            timeout_s=15,
        )
    assert view["documents"]["payment"] is not None
