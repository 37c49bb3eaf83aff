"""`python -m customs.worker`: applies risk's routes and relays customs' outbox."""

from __future__ import annotations

import sys

from clearway import collector
from customs.context import Customs
from customs.db import runtime
from customs.handlers import TOPICS, handlers
from customs.settings import CustomsSettings
from messaging.worker import WorkerSpec, run_forever


def spec(settings: CustomsSettings | None = None) -> WorkerSpec:
    """The customs worker: consumes customs.inbound and risk.events."""
    settings = settings or CustomsSettings()
    customs = Customs.from_settings(settings)
    return WorkerSpec(
        service="customs",
        engine=customs.engine,
        tables=runtime,
        topics=TOPICS,
        handlers=handlers(customs),
        health_port=settings.worker_health_port,
    )


if __name__ == "__main__":
    worker = spec()
    collector.settle()  # what the worker built lives as long as it does
    sys.exit(run_forever(worker))
