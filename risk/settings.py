"""Risk settings (environment prefix RISK_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class RiskSettings(BaseSettings):
    """Where risk keeps its data and how its worker reports health."""

    model_config = SettingsConfigDict(env_prefix="RISK_", extra="ignore")

    database_url: str = "sqlite:///data/risk.db"
    worker_health_port: int = 0
