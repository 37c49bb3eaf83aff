"""The first flow through every layer but HTTP processes: customs and risk workers on the broker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from customs import service
from customs.db import runtime as customs_runtime
from customs.handlers import handlers
from messaging.worker import Worker, WorkerSpec
from risk.db import Observation
from risk.db import runtime as risk_runtime
from risk.handlers import HANDLERS as RISK_HANDLERS
from schemas.topics import CUSTOMS_EVENTS, CUSTOMS_INBOUND
from tests.support import sample, unsigned, wait_for


@contextmanager
def workers(broker, customs, risk_engine) -> Iterator[tuple[Worker, Worker]]:
    customs_worker = Worker(
        WorkerSpec(
            "customs", customs.engine, customs_runtime, (CUSTOMS_INBOUND,), handlers(customs)
        ),
        broker.settings,
    )
    risk = Worker(
        WorkerSpec("risk", risk_engine, risk_runtime, (CUSTOMS_EVENTS,), RISK_HANDLERS),
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
