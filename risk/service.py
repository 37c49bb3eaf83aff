"""Risk use cases: record what customs accepted, show it."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from messaging.consumer import HandlerContext
from risk import history_store
from risk.db import Observation, RiskAssessment
from risk.domain.rules import RuleSet, assess
from schemas.envelope import utc_now
from schemas.events import DeclarationReadyV1, DocumentAcceptedV1, RiskAssessedV1


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
    rules_in_force: RulesInForce, ctx: HandlerContext, event: DeclarationReadyV1
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
            assessed_at=utc_now(),
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
        ),
        key=event.order_no,
    )


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
