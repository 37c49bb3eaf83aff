"""What the customs use cases work with: the database and the personal-data vault."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from clearway.database import make_engine
from customs.settings import CustomsSettings
from customs.vault import Vault


@dataclass(frozen=True)
class Customs:
    """Customs' own resources, built once per process from its settings."""

    engine: Engine
    vault: Vault

    @classmethod
    def from_settings(cls, settings: CustomsSettings) -> Customs:
        """Open the database and the vault (the data key is required)."""
        return cls(
            engine=make_engine(settings.database_url),
            vault=Vault.from_secret(settings.data_key.get_secret_value()),
        )
