"""Risk settings (environment prefix RISK_)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from risk.domain.rules import RuleSet
from risk.ruleset_file import ruleset_from


class RiskSettings(BaseSettings):
    """Where risk keeps its data and how its worker reports health."""

    model_config = SettingsConfigDict(env_prefix="RISK_", extra="ignore")

    database_url: str = "sqlite:///data/risk.db"
    worker_health_port: int = 0
    # Share of declarations inspected at random whatever their score (unbiased outcomes).
    random_inspection_rate: Decimal = Field(default=Decimal("0.02"), ge=0, le=1)
    # A rule set file (JSON, see risk/rules/default.json); the shipped one when unset. It is in
    # force until a version is posted to the risk API (POST /v1/ruleset/versions).
    rules_file: str | None = None

    def seed_ruleset(self) -> RuleSet:
        """The rule set in force until one is changed through the API."""
        return ruleset_from(self.rules_file, random_inspection_rate=self.random_inspection_rate)
