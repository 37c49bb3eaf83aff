"""Customs' Kafka handler table."""

from __future__ import annotations

from customs.service import process_received
from messaging.consumer import HandlerTable
from schemas.events import DocumentReceivedV1

HANDLERS: HandlerTable = {DocumentReceivedV1: process_received}
