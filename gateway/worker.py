"""`python -m gateway.worker`: fans customs events out to webhooks and delivers them."""

from __future__ import annotations

import sys
from functools import partial

from clearway import collector
from clearway.database import make_engine
from gateway.box import SecretBox
from gateway.db import runtime
from gateway.settings import GatewaySettings
from gateway.webhooks import Deliverer, fan_out_batch
from messaging.consumer import Batched
from messaging.worker import WorkerSpec, run_forever
from schemas.events import (
    ClearanceChangedV1,
    ClearancesChangedV1,
    DocumentAcceptedV1,
    DocumentRejectedV1,
    DocumentsAcceptedV1,
)
from schemas.topics import CUSTOMS_EVENTS


def spec(settings: GatewaySettings | None = None) -> WorkerSpec:
    """The gateway worker: consumes customs.events, runs the webhook delivery loop."""
    settings = settings or GatewaySettings()
    engine = make_engine(settings.database_url)
    loops = []
    handle = fan_out_batch
    if settings.data_key:
        deliverer = Deliverer(engine, SecretBox(settings.data_key))
        loops.append(("webhooks", deliverer.run))
        handle = partial(fan_out_batch, on_commit=deliverer.wake)
    fan_out = Batched(handle)  # one handler: a run of all these types is one call
    return WorkerSpec(
        service="gateway",
        engine=engine,
        tables=runtime,
        topics=(CUSTOMS_EVENTS,),
        handlers={
            DocumentsAcceptedV1: fan_out,
            DocumentAcceptedV1: fan_out,  # customs published these before DocumentsAcceptedV1
            DocumentRejectedV1: fan_out,
            ClearancesChangedV1: fan_out,
            ClearanceChangedV1: fan_out,  # officers' decisions; a run of routes: the above
        },
        health_port=settings.worker_health_port,
        loops=loops,
        # Webhooks are not on the decision path: a quarter of a second per fetch is soon enough,
        # and an idle worker then polls the broker 4 times a second instead of 50; a busy one
        # reads at most 4 times a second too, in bigger batches.
        fetch_max_wait_ms=250,
        poll_interval_s=0.25,
        # Only the consumer could stage events here (the gateway's API writes no outbox rows),
        # and its commits wake the relay: no need to look 50 times a second.
        relay_max_idle_s=1.0,
    )


if __name__ == "__main__":
    worker = spec()
    collector.settle()  # what the worker built lives as long as it does
    sys.exit(run_forever(worker))
