"""Customs tables, on customs' own metadata (its own database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from clearway.idempotency import add_idempotency_table
from messaging.tables import add_runtime_tables


class CustomsTable(SQLModel, registry=registry()):
    """Base of every customs table."""


class Submission(CustomsTable, table=True):
    """One CEB message as received: who sent it, when, and its exact bytes."""

    __tablename__ = "submission"

    id: str = Field(primary_key=True, max_length=36)
    message_type: str = Field(max_length=20)
    message_guid: str = Field(max_length=36)
    sender_code: str = Field(max_length=18, index=True)
    sender_name: str = Field(max_length=100)
    correlation_id: str = Field(max_length=128)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Document(CustomsTable, table=True):
    """One business document (an order, a waybill...) of a submission, with its return status."""

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("invt_no", name="uq_document_invt_no"),
        # an order's documents of one type (its accepted waybills): without it SQLite reads
        # every document of the type. Every read by business key names the type (no index on
        # business_key alone, nor on buyer_key: documents are never read by buyer)
        Index("ix_document_type_business_key", "message_type", "business_key"),
    )

    id: str = Field(primary_key=True, max_length=36)
    submission_id: str = Field(foreign_key="submission.id", index=True, max_length=36)
    seq: int
    message_type: str = Field(max_length=20)
    business_key: str = Field(max_length=60)
    declared_key: str = Field(max_length=200)
    guid: str = Field(max_length=36)
    app_type: str = Field(max_length=1)
    pre_no: str | None = Field(default=None, max_length=18)
    invt_no: str | None = Field(default=None, max_length=20)
    head: str = Field(sa_column=Column(Text, nullable=False))
    # Personal fields of the head, encrypted (customs.vault); never stored in clear.
    personal: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    buyer_key: str | None = Field(default=None, max_length=64)
    lines: str = Field(sa_column=Column(Text, nullable=False))
    return_status: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DocumentParty(CustomsTable, table=True):
    """An enterprise a document names (ebpCode, payCode, logisticsCode...): whose it is."""

    __tablename__ = "document_party"
    # On SQLite the table is its primary key's B-tree (WITHOUT ROWID): a rowid table would keep
    # the same rows twice, in the table and in the key's own index, and a document names about
    # four enterprises (each of a declaration's documents its sender too)
    __table_args__ = {"sqlite_with_rowid": False}

    document_id: str = Field(foreign_key="document.id", primary_key=True, max_length=36)
    role: str = Field(primary_key=True, max_length=20)
    code: str = Field(max_length=18, index=True)


class Receipt(CustomsTable, table=True):
    """Every receipt customs issued for a document, in order (the document's timeline)."""

    __tablename__ = "receipt"

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="document.id", index=True, max_length=36)
    return_status: int
    return_info: str = Field(max_length=1000)
    return_time: str = Field(max_length=17)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DeclaredKey(CustomsTable, table=True):
    """The documents in force, one per kind and key: a second new one is a duplicate."""

    __tablename__ = "declared_key"
    __table_args__ = (UniqueConstraint("message_type", "declared_key"),)

    id: int | None = Field(default=None, primary_key=True)
    message_type: str = Field(max_length=20)
    declared_key: str = Field(max_length=200)
    document_id: str = Field(foreign_key="document.id", max_length=36)


class Declaration(CustomsTable, table=True):
    """One import declaration: the order, payment, waybill and inventory joined on their keys;
    or one export inventory (CEB603) customs holds, so that officers decide on it, and its
    changes are announced and audited, as on an import one (`export_invt_no` is then set)."""

    __tablename__ = "declaration"
    __table_args__ = (
        UniqueConstraint(
            "ebp_code", "order_no", "export_invt_no", name="uq_declaration_order_inventory"
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    ebp_code: str = Field(max_length=18)
    order_no: str = Field(max_length=60, index=True)
    order_document_id: str | None = Field(default=None, foreign_key="document.id", max_length=36)
    payment_document_id: str | None = Field(default=None, foreign_key="document.id", max_length=36)
    waybill_document_id: str | None = Field(default=None, foreign_key="document.id", max_length=36)
    inventory_document_id: str | None = Field(
        default=None, foreign_key="document.id", max_length=36
    )
    # The inventory's clearance state (its latest CEB622 return status), None before it arrives.
    status: int | None = Field(default=None, index=True)
    buyer_key: str | None = Field(default=None, max_length=64, index=True)
    # Field-level differences found by the four-document match (JSON list), and the tax (JSON).
    mismatches: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    tax: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    route: str | None = Field(default=None, max_length=10)
    cancelled: bool = False
    returned: bool = False
    risk: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # An export inventory's number ("" for an import declaration, one per order and platform):
    # an order may be declared for export again once its inventory was cancelled.
    export_invt_no: str = Field(
        default="", sa_column=Column(String(20), nullable=False, server_default="")
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    @property
    def direction(self) -> str:
        """ "export" for an export inventory, else "import"."""
        return "export" if self.export_invt_no else "import"


class BuyerQuota(CustomsTable, table=True):
    """A buyer's running CBEC total for one calendar year (26,000 CNY at most).

    Kept as an integer count of 0.00001 CNY so that the database adds it exactly (SQLite has
    no decimal arithmetic) in the one conditional UPDATE that consumes it.
    """

    __tablename__ = "buyer_quota"

    buyer_key: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    used_units: int = Field(sa_column=Column(BigInteger, nullable=False))


class QuotaUse(CustomsTable, table=True):
    """What one declaration took from its buyer's quota, so that exactly that is given back."""

    __tablename__ = "quota_use"

    declaration_id: str = Field(foreign_key="declaration.id", primary_key=True, max_length=36)
    buyer_key: str = Field(max_length=64)
    year: int
    amount_units: int = Field(sa_column=Column(BigInteger, nullable=False))
    restored_units: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class Decision(CustomsTable, table=True):
    """An officer's or the risk route's decision on a declaration: who, when, why (the audit)."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(foreign_key="declaration.id", index=True, max_length=36)
    action: str = Field(max_length=20)
    actor: str = Field(max_length=100)
    reason: str = Field(max_length=1000)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    from_status: int
    to_status: int
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Certificate(CustomsTable, table=True):
    """A signing certificate registered to an enterprise, with the algorithms it may use."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("fingerprint", "enterprise_code"),)

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, index=True)
    enterprise_code: str = Field(max_length=18, index=True)
    der: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    algorithms: str = Field(max_length=400, description="space-separated SignatureMethod URIs")
    subject: str = Field(max_length=400)
    registered_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Counter(CustomsTable, table=True):
    """Numbers customs hands out in sequence (inventory numbers per district and year)."""

    __tablename__ = "counter"

    name: str = Field(primary_key=True, max_length=40)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class SummaryResult(CustomsTable, table=True):
    """What customs made of one export summary application (CEB701): the summary number and the
    customs declaration (报关单) number the export tax refund relies on, as its CEB792 carries.

    One row per application part and declaration: the parts of a split CEB701 share one summary
    and its declarations; summaryFlag 2 makes one declaration per producer (`owner_code`).
    """

    __tablename__ = "summary_result"
    __table_args__ = (
        UniqueConstraint(
            "application_document_id", "decl_seq_no", name="uq_summary_result_declaration"
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    application_document_id: str = Field(foreign_key="document.id", max_length=36)
    sum_no: str = Field(max_length=18, index=True)
    decl_seq_no: str = Field(max_length=18)
    entry_id: str = Field(max_length=18, index=True)
    # The producer (CEB603 ownerCode) whose inventories the declaration takes (summaryFlag 2).
    owner_code: str = Field(
        default="", sa_column=Column(String(18), nullable=False, server_default="")
    )
    head: str = Field(sa_column=Column(Text, nullable=False))  # SummaryResultHead fields (JSON)
    lines: str = Field(sa_column=Column(Text, nullable=False))  # SummaryResultList fields (JSON)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SummarisedInventory(CustomsTable, table=True):
    """An export inventory taken into a summary: it goes into one customs declaration only."""

    __tablename__ = "summarised_inventory"

    invt_no: str = Field(primary_key=True, max_length=20)
    summary_result_id: str = Field(foreign_key="summary_result.id", index=True, max_length=36)
    # Whether customs held the inventory (CEB603) when summarising it; else known by number only.
    on_record: bool


class PersonalDataReveal(CustomsTable, table=True):
    """An officer saw a declaration's personal data unmasked: who, when and why (the audit)."""

    __tablename__ = "personal_data_reveal"

    id: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(foreign_key="declaration.id", index=True, max_length=36)
    officer: str = Field(max_length=100)
    reason: str = Field(max_length=1000)
    revealed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExportInventory(CustomsTable, table=True):
    """An export inventory (CEB603) customs accepted, by its number: the waybill its goods
    travel on, and whether it was cancelled (CEB605). Its state is its document's latest CEB604
    return status (120, 399, 800, 899; 100 once cancelled)."""

    __tablename__ = "export_inventory"
    __table_args__ = (UniqueConstraint("document_id", name="uq_export_inventory_document"),)

    invt_no: str = Field(primary_key=True, max_length=20)
    document_id: str = Field(foreign_key="document.id", max_length=36)
    logistics_code: str = Field(max_length=18)
    logistics_no: str = Field(max_length=32, index=True)
    # Cancelled inventories are neither moved nor summarised again (customs.export reads it).
    cancelled: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExportBillLink(CustomsTable, table=True):
    """A CEB607 master/house bill link (清单总分单): an export inventory travels under a master
    bill (billNo), so that the departure of the bill (CEB509) closes it. One bill per inventory."""

    __tablename__ = "export_bill_link"

    invt_no: str = Field(foreign_key="export_inventory.invt_no", primary_key=True, max_length=20)
    bill_no: str = Field(max_length=37, index=True)
    waybill_document_id: str = Field(foreign_key="document.id", max_length=36)
    linked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ExportReturn(CustomsTable, table=True):
    """A return of exported goods (CEB213) customs accepted against an export inventory, by the
    waybill the goods come back on (a CEB215 tally names it). Its state is its document's
    latest CEB214 return status (120 accepted, 800 released once tallied)."""

    __tablename__ = "export_return"

    document_id: str = Field(foreign_key="document.id", primary_key=True, max_length=36)
    invt_no: str = Field(foreign_key="export_inventory.invt_no", index=True, max_length=20)
    logistics_code: str = Field(max_length=18)
    logistics_no: str = Field(max_length=80, index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


metadata = CustomsTable.metadata
runtime = add_runtime_tables(metadata)
idempotency = add_idempotency_table(metadata)
