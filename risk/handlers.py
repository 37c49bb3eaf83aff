"""Risk's Kafka handler table."""

from __future__ import annotations

from messaging.consumer import Batched, HandlerTable
from risk.domain.rules import RuleSet
from risk.intake import Intake
from risk.model.gbm import RiskModel
from risk.ruleset_store import ActiveRuleSet
from schemas.events import (
    DeclarationReadyV1,
    DocumentAcceptedV1,
    DocumentsAcceptedV1,
    InspectionConcludedV1,
)


def handlers(seed: RuleSet, model: RiskModel | None = None) -> HandlerTable:
    """The events risk consumes, handled a run at a time (`risk.intake`); `seed` is in force
    until a rule set version is changed through the API; `model` is the learned model (None:
    rules only)."""
    intake = Batched(Intake(ActiveRuleSet(seed), model))
    return {
        DocumentsAcceptedV1: intake,
        DocumentAcceptedV1: intake,  # customs published these before DocumentsAcceptedV1
        DeclarationReadyV1: intake,
        InspectionConcludedV1: intake,
    }
