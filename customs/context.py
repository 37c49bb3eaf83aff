"""What the customs use cases work with: the database and the personal-data vault."""

from __future__ import annotations

from collections.abc import Mapping
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
from customs.recent import Recent
from customs.settings import CustomsSettings
from customs.vault import Vault


def default_tariff() -> Tariff:
    """The tariff table shipped with customs (illustrative rates; load the official one)."""
    return Tariff.from_csv(
        (resources.files("customs") / "tariff" / "default-tariff.csv").read_text()
    )


# An import document's content as its submission parsed it: its head without and with its
# personal fields, and its lines.
ParsedDocument = tuple[dict[str, str], dict[str, str], tuple[Mapping[str, str], ...]]


# How many of the import documents it stored last a process keeps parsed (`stored_documents`):
# about a second of traffic at 1,000 declarations/s, some 20 MB.
RECENT_DOCUMENTS = 4096


def _recent_documents() -> Recent[str, ParsedDocument]:
    return Recent(RECENT_DOCUMENTS)


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
    # the import documents this process stored last, by id, as parsed (`intake`): a
    # declaration's documents come in separate messages, and deciding the last matches it
    # against the others, read back from the database, their JSON parsed and their personal
    # fields opened again (1.3% of a submission's instructions). An import document's head,
    # personal fields and lines never change once stored (a change is a document of its own).
    stored_documents: Recent[str, ParsedDocument] = field(
        default_factory=_recent_documents, repr=False, compare=False
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
