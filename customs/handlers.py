"""Customs' Kafka handler table."""

from __future__ import annotations

from messaging.consumer import HandlerTable
from schemas.events import DocumentReceivedV1
from customs.service import process_received

HANDLERS: HandlerTable = {DocumentReceivedV1: process_received}
