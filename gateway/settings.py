"""Gateway settings (environment prefix GATEWAY_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Where the services behind the gateway answer."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    customs_url: str = "http://127.0.0.1:8101"
    risk_url: str = "http://127.0.0.1:8102"
    upstream_timeout_s: float = 30.0
