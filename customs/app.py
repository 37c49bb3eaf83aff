"""The customs API application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from clearway import http
from clearway.idempotency import Keeper
from clearway.threads import prefer_short_turns
from customs.api import PROBLEMS, router
from customs.ceb.schema import warm_up
from customs.context import Customs
from customs.db import idempotency
from customs.settings import CustomsSettings


def create_app(settings: CustomsSettings | None = None) -> FastAPI:
    """Build the customs API; the engine is created here, not at import."""
    settings = settings or CustomsSettings()
    prefer_short_turns()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up()
        yield
        app.state.customs.engine.dispose()

    app = FastAPI(title="Clearway customs", version="1", lifespan=lifespan)
    app.state.customs = Customs.from_settings(settings)
    app.state.idempotency = Keeper(app.state.customs.engine, idempotency)
    http.install(app, PROBLEMS)
    app.include_router(router)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "customs"}

    return app
