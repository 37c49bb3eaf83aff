"""What the customs use cases work with: the database and the personal-data vault."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearway.database import make_engine
from clearway.groupcommit import GroupCommit
from customs.domain.tariff import Tariff
from customs.domain.tax import TaxSettings
from customs.receipt_signing import ReceiptSigner
from customs.settings import CustomsSettings
from customs.vault import Vault


def default_tariff() -> Tariff:
    """The tariff table shipped with customs (illustrative rates; load the official one)."""
    return Tariff.from_csv(
        (resources.files("customs") / "tariff" / "default-tariff.csv").read_text()
    )


@dataclass(frozen=True)
class Customs:
    """Customs' own resources, built once per process from its settings."""

    engine: Engine
    vault: Vault
    tariff: Tariff = field(default_factory=default_tariff)
    tax_settings: TaxSettings = field(default_factory=TaxSettings)
    receipt_signer: ReceiptSigner | None = None
    # the messages being submitted, written in groups (`service.write_submissions`)
    submissions: GroupCommit[Any, Any] = field(
        default_factory=GroupCommit, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: CustomsSettings) -> Customs:
        """Open the database, the vault (the data key is required) and the tariff."""
        tariff = (
            Tariff.from_csv(Path(settings.tariff_file).read_text())
            if settings.tariff_file
            else default_tariff()
        )
        return cls(
            engine=make_engine(settings.database_url),
            vault=Vault.from_secret(settings.data_key.get_secret_value()),
            tariff=tariff,
            tax_settings=TaxSettings(
                discount_lowers_dutiable_value=settings.discount_lowers_dutiable_value
            ),
            receipt_signer=ReceiptSigner.from_files(
                settings.receipt_key_file, settings.receipt_cert_file
            )
            if settings.receipt_key_file and settings.receipt_cert_file
            else None,
        )
