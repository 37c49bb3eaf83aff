"""`python -m risk.worker`: consumes customs events and relays risk's outbox."""

from __future__ import annotations

import sys

from clearway.database import make_engine
from messaging.worker import WorkerSpec, run_forever
from risk.db import runtime
from risk.handlers import handlers
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
        handlers=handlers(settings.seed_ruleset()),
        health_port=settings.worker_health_port,
    )


if __name__ == "__main__":
    sys.exit(run_forever(spec()))
