"""Risk use cases, one event at a time (the worker hands over runs of events, `risk.intake`):
score a declaration, keep an inspection's label; and show what risk recorded."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from messaging.consumer import HandlerContext
from risk.db import Observation, RiskAssessment
from risk.domain.rules import RuleSet
from risk.intake import Intake, RulesInForce
from risk.model.gbm import RiskModel
from schemas.events import DeclarationReadyV1, InspectionConcludedV1


class NotFound(LookupError):
    """Risk has not seen that document."""


def assess_declaration(
    rules_in_force: RulesInForce,
    ctx: HandlerContext,
    event: DeclarationReadyV1,
    *,
    model: RiskModel | None = None,
) -> None:
    """Score a declaration customs is ready to route, record it, and announce the route."""
    Intake(rules_in_force, model)([(ctx, event)])


def record_label(ctx: HandlerContext, event: InspectionConcludedV1) -> None:
    """Keep what an inspection found as the label of the declaration's assessment (the first
    conclusion counts; redeliveries and later ones change nothing) and count it in the history
    the model's features read."""
    Intake(_no_rules)([(ctx, event)])


def _no_rules(_session: Session) -> RuleSet:
    raise AssertionError("only a declaration is scored by the rules")


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
