"""`python -m risk.worker`: consumes customs events and relays risk's outbox."""

from __future__ import annotations

import sys

from clearway import collector
from clearway.database import make_engine
from messaging.worker import WorkerSpec, run_forever
from risk.db import runtime
from risk.handlers import handlers
from risk.scoring import current_model
from risk.settings import RiskSettings
from schemas.topics import CUSTOMS_EVENTS


def spec(settings: RiskSettings | None = None) -> WorkerSpec:
    """The risk worker: consumes customs.events."""
    settings = settings or RiskSettings()
    return WorkerSpec(
        service="risk",
        engine=make_engine(settings.database_url),
        tables=runtime,
        topics=(CUSTOMS_EVENTS,),
        handlers=handlers(settings.seed_ruleset(), current_model(settings.model_dir)),
        health_port=settings.worker_health_port,
    )


if __name__ == "__main__":
    worker = spec()
    collector.settle()  # what the worker built lives as long as it does
    sys.exit(run_forever(worker))
