"""The risk API application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from clearway import http
from clearway.database import make_engine
from risk import ruleset_api
from risk.api import PROBLEMS, router
from risk.settings import RiskSettings


def create_app(settings: RiskSettings | None = None) -> FastAPI:
    """Build the risk API; the engine is created here, not at import."""
    settings = settings or RiskSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPI(title="Clearway risk", version="1", lifespan=lifespan)
    app.state.engine = make_engine(settings.database_url)
    app.state.seed_rules = settings.seed_ruleset()
    http.install(app, PROBLEMS)
    app.include_router(router)
    app.include_router(ruleset_api.router)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "risk"}

    return app
