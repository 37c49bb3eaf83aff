"""Risk's Kafka handler table."""

from __future__ import annotations

from messaging.consumer import HandlerTable
from risk.service import record_accepted
from schemas.events import DocumentAcceptedV1

HANDLERS: HandlerTable = {DocumentAcceptedV1: record_accepted}
