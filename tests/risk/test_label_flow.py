"""Officers' inspection findings reach risk over Kafka and become labels, once each."""

from __future__ import annotations

import json
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from customs import clearance_service
from customs.domain.clearance import Action
from risk import service as risk_service
from risk.db import HistoryTally, RiskAssessment, RiskLabel
from schemas.events import InspectionConcludedV1
from tests.customs import builders
from tests.support import wait_for
from tests.test_flow import _settled, submit_set, workers


def _decide(customs, declaration_id: str, action: Action, **extra) -> tuple[int, ...]:
    return clearance_service.decide(
        customs,
        declaration_id,
        clearance_service.OfficerDecision(action, "officer-7", "checked", **extra),
        correlation_id=f"officer-{action.value}",
    )


def _labels(engine) -> list[RiskLabel]:
    with Session(engine) as session:
        return list(session.execute(select(RiskLabel)).scalars())


def _tally(engine, kind: str, key: str) -> tuple[int, int, int] | None:
    with Session(engine) as session:
        row = session.get(HistoryTally, (kind, key))
        return None if row is None else (row.seen, row.labelled, row.found)


def test_an_inspection_that_finds_a_problem_comes_back_to_risk_as_a_label(
    broker, customs, risk_engine
):
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    with workers(broker, customs, risk_engine):
        submit_set(customs, declaration)
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 300), timeout_s=15)
        assert _decide(customs, view["id"], Action.INSPECT) == (500,)
        _decide(
            customs,
            view["id"],
            Action.DETAIN,
            detention_code=502,
            findings="invoice shows three times the price",
            finding_codes=("undervalued",),
        )
        (label,) = wait_for(lambda: _labels(risk_engine), timeout_s=15)
    assert label.declaration_id == view["id"]
    assert (label.found, label.outcome, label.decided_by) == (True, "detained", "officer-7")
    assert json.loads(label.finding_codes) == ["undervalued", "detention-502"]
    with Session(risk_engine) as session:
        assessed = session.get(RiskAssessment, view["id"])
        assert assessed is not None and assessed.facts is not None
        assert assessed.model_version is None  # no model folder: rules only
        seller = json.loads(assessed.facts)["parties"]["seller"]
    assert _tally(risk_engine, "seller", seller) == (1, 1, 1)

    # a redelivered or second conclusion changes nothing: the first one is the label
    again = InspectionConcludedV1(
        declaration_id=label.declaration_id,
        order_no=label.order_no,
        found=False,
        outcome="released",
        decided_by="officer-8",
        decided_at=label.decided_at,
    )
    with Session(risk_engine) as session, session.begin():
        risk_service.record_label(SimpleNamespace(session=session), again)
    assert [(x.found, x.decided_by) for x in _labels(risk_engine)] == [(True, "officer-7")]
    assert _tally(risk_engine, "seller", seller) == (1, 1, 1)


def test_releasing_after_an_inspection_is_a_label_that_found_nothing(broker, customs, risk_engine):
    declaration = builders.declaration_set(items=[{"qty": "1", "price": "4500.00"}])
    with workers(broker, customs, risk_engine):
        submit_set(customs, declaration)
        view = wait_for(lambda: _settled(customs, builders.ORDER_NO, 300), timeout_s=15)
        _decide(customs, view["id"], Action.INSPECT)
        assert _decide(customs, view["id"], Action.RELEASE) == (399, 800)
        (label,) = wait_for(lambda: _labels(risk_engine), timeout_s=15)
    assert (label.found, label.outcome, json.loads(label.finding_codes)) == (False, "released", [])
