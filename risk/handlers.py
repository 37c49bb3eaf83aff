"""Risk's Kafka handler table."""

from __future__ import annotations

from functools import partial

from messaging.consumer import HandlerTable
from risk.domain.rules import RuleSet
from risk.model.gbm import RiskModel
from risk.ruleset_store import ActiveRuleSet
from risk.service import assess_declaration, record_accepted, record_label
from schemas.events import DeclarationReadyV1, DocumentAcceptedV1, InspectionConcludedV1


def handlers(seed: RuleSet, model: RiskModel | None = None) -> HandlerTable:
    """The events risk consumes, each with its use case; `seed` is in force until a rule set
    version is changed through the API; `model` is the learned model (None: rules only)."""
    return {
        DocumentAcceptedV1: record_accepted,
        DeclarationReadyV1: partial(assess_declaration, ActiveRuleSet(seed), model=model),
        InspectionConcludedV1: record_label,
    }
