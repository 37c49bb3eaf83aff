"""Customs settings (environment prefix CUSTOMS_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CustomsSettings(BaseSettings):
    """Where customs keeps its data and how its worker reports health."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMS_", extra="ignore")

    database_url: str = "sqlite:///data/customs.db"
    worker_health_port: int = 0
    # Encrypts buyer personal data at rest and keys buyer pseudonyms; no default on purpose.
    data_key: SecretStr = Field(min_length=32)
    # The tariff table (CSV, see customs.domain.tariff); the shipped illustrative one if unset.
    tariff_file: str | None = None
    # The platform's own signing identity for the receipts it sends (PEM files); unsigned if unset.
    receipt_key_file: str | None = None
    receipt_cert_file: str | None = None
    # Whether a platform discount lowers the dutiable value (dossier §3.1: not by default).
    discount_lowers_dutiable_value: bool = False
