"""Risk use cases: record what customs accepted, show it."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from messaging.consumer import HandlerContext
from risk import history_store, model_history, scoring
from risk.db import Observation, RiskAssessment, RiskLabel
from risk.domain.rules import RuleSet, assess
from risk.model.gbm import RiskModel
from risk.model.platform import declared_from, from_json, to_json
from schemas.envelope import utc_now
from schemas.events import (
    DeclarationReadyV1,
    DocumentAcceptedV1,
    InspectionConcludedV1,
    RiskAssessedV1,
)


class NotFound(LookupError):
    """Risk has not seen that document."""


def record_accepted(ctx: HandlerContext, event: DocumentAcceptedV1) -> None:
    """Keep an accepted customs document as an observation (once, whatever the redeliveries)."""
    document_id = str(event.document_id)
    if ctx.session.get(Observation, document_id) is not None:
        return
    ctx.session.add(
        Observation(
            document_id=document_id,
            message_type=event.message_type,
            business_key=event.business_key,
            ebp_code=event.parties.get("ebpCode"),
            ebc_code=event.parties.get("ebcCode"),
            goods_value=event.goods_value,
            currency=event.currency,
            line_count=event.line_count,
            correlation_id=ctx.envelope.correlation_id,
            observed_at=utc_now(),
        )
    )


RulesInForce = Callable[[Session], RuleSet]


def assess_declaration(
    rules_in_force: RulesInForce,
    ctx: HandlerContext,
    event: DeclarationReadyV1,
    *,
    model: RiskModel | None = None,
) -> None:
    """Score a declaration customs is ready to route, record it, and announce the route."""
    declaration_id = str(event.declaration_id)
    if ctx.session.get(RiskAssessment, declaration_id) is not None:
        return
    # --- rules: the version in force, and risk's history of the parties and goods (event time)
    rules = rules_in_force(ctx.session)
    at = ctx.envelope.occurred_at
    history = history_store.history_of(ctx.session, event, at=at, rules=rules)
    result = assess(event, history, rules)
    history_store.remember(ctx.session, event, at=at)
    # --- end rules
    # --- the learned model (risk/scoring.py): its score, reasons and history counts
    assessed_at = utc_now()
    declared = declared_from(event, at.date())
    part = None
    if model is not None:
        part = scoring.score(ctx.session, model, declared, rules)
        result = scoring.combine(result, part, rules, model.version)
    model_history.add(ctx.session, declared)
    model_version = None if model is None else model.version
    # --- end model
    ctx.session.add(
        RiskAssessment(
            declaration_id=declaration_id,
            order_no=event.order_no,
            ebc_code=event.ebc_code,
            buyer_key=event.buyer_key,
            score=result.score,
            route=result.route,
            reasons=json.dumps([r.model_dump() for r in result.reasons], ensure_ascii=False),
            ruleset_version=rules.version,
            assessed_at=assessed_at,
            model_version=model_version,
            model_score=None if part is None else part.score,
            facts=json.dumps(to_json(declared), ensure_ascii=False),
        )
    )
    ctx.emit(
        RiskAssessedV1(
            declaration_id=event.declaration_id,
            order_no=event.order_no,
            score=result.score,
            route=result.route,
            reasons=result.reasons,
            ruleset_version=rules.version,
            model_version=model_version,
        ),
        key=event.order_no,
    )


def record_label(ctx: HandlerContext, event: InspectionConcludedV1) -> None:
    """Keep what an inspection found as the label of the declaration's assessment (the first
    conclusion counts; redeliveries and later ones change nothing) and count it in the history
    the model's features read."""
    declaration_id = str(event.declaration_id)
    if ctx.session.get(RiskLabel, declaration_id) is not None:
        return
    ctx.session.add(
        RiskLabel(
            declaration_id=declaration_id,
            order_no=event.order_no,
            found=event.found,
            finding_codes=json.dumps(list(event.finding_codes), ensure_ascii=False),
            outcome=event.outcome,
            decided_by=event.decided_by,
            decided_at=event.decided_at,
            recorded_at=utc_now(),
        )
    )
    assessed = ctx.session.get(RiskAssessment, declaration_id)
    if assessed is not None and assessed.facts:
        model_history.add_label(ctx.session, from_json(json.loads(assessed.facts)), event.found)


def assessment(engine: Engine, declaration_id: str) -> RiskAssessment:
    """Risk's assessment of one declaration."""
    with Session(engine) as session:
        found = session.get(RiskAssessment, declaration_id)
        if found is None:
            raise NotFound(f"risk has not assessed declaration {declaration_id}")
        return found


def observation(engine: Engine, document_id: str) -> Observation:
    """What risk recorded about one customs document."""
    with Session(engine) as session:
        found = session.get(Observation, document_id)
        if found is None:
            raise NotFound(f"risk has no observation of document {document_id}")
        return found
