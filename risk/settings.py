"""Risk settings (environment prefix RISK_)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RiskSettings(BaseSettings):
    """Where risk keeps its data and how its worker reports health."""

    model_config = SettingsConfigDict(env_prefix="RISK_", extra="ignore")

    database_url: str = "sqlite:///data/risk.db"
    worker_health_port: int = 0
    # Share of declarations inspected at random whatever their score (unbiased outcomes).
    random_inspection_rate: Decimal = Field(default=Decimal("0.02"), ge=0, le=1)
    # A rule set file (JSON, see risk/rules/default.json); the shipped one when unset.
    rules_file: str | None = None
    # The learned model's folder: one subfolder per version, CURRENT names the one to load.
    # No folder or no CURRENT: rules only. `clearway risk train` writes here.
    model_dir: str | None = None
