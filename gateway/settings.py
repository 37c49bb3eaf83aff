"""Gateway settings (environment prefix GATEWAY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Where the services behind the gateway answer, and how the edge protects them."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    database_url: str = "sqlite:///data/gateway.db"
    worker_health_port: int = 0
    customs_url: str = "http://127.0.0.1:8101"
    risk_url: str = "http://127.0.0.1:8102"
    upstream_timeout_s: float = 30.0
    # Encrypts the secrets the gateway must read back (request-signing and webhook secrets).
    data_key: str = Field(default="", repr=False)
    # The first administrator's API key (kept in data/secrets.json by `clearway up`).
    admin_api_key: str = Field(default="", repr=False)
    # Browser sessions.
    session_hours: float = 12.0
    secure_cookies: bool = False  # true behind HTTPS: cookies only over TLS
    lockout_after: int = 5  # failed sign-ins in a row
    lockout_minutes: float = 15.0
    # Requests per second per client on average, and the burst allowed.
    rate_per_s: float = 200.0
    rate_burst: int = 400
    token_ttl_s: int = 3600
    # The largest body the gateway reads itself (signed requests); customs caps the rest.
    max_body_bytes: int = 12 * 1024 * 1024
    # How long a verified API key is trusted without a database read (revocation delay).
    auth_cache_s: float = 5.0
