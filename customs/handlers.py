"""Customs' Kafka handler table."""

from __future__ import annotations

from functools import partial

from customs.clearance_service import apply_routes
from customs.context import Customs
from customs.intake import process_received_run
from messaging.consumer import Batched, HandlerTable
from schemas.events import DocumentReceivedV1, RiskAssessedV1
from schemas.topics import CUSTOMS_INBOUND, RISK_EVENTS

TOPICS = (CUSTOMS_INBOUND, RISK_EVENTS)


def handlers(customs: Customs) -> HandlerTable:
    """The events customs consumes, each with its use case."""
    return {
        # Documents are decided on arrival (`intake.decide_on_arrival`); these are the arrivals
        # an earlier version staged and did not decide, met once after an upgrade.
        DocumentReceivedV1: Batched(partial(process_received_run, customs)),
        RiskAssessedV1: Batched(partial(apply_routes, customs)),
    }
