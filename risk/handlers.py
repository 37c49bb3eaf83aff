"""Risk's Kafka handler table."""

from __future__ import annotations

from functools import partial

from messaging.consumer import HandlerTable
from risk.domain.rules import RuleSet
from risk.ruleset_store import ActiveRuleSet
from risk.service import assess_declaration, record_accepted
from schemas.events import DeclarationReadyV1, DocumentAcceptedV1


def handlers(seed: RuleSet) -> HandlerTable:
    """The events risk consumes, each with its use case; `seed` is in force until a rule set
    version is changed through the API."""
    return {
        DocumentAcceptedV1: record_accepted,
        DeclarationReadyV1: partial(assess_declaration, ActiveRuleSet(seed)),
    }
