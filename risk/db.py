"""Risk tables, on risk's own metadata (its own database)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, Index, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from clearway.database import Money
from messaging.tables import add_runtime_tables


class RiskTable(SQLModel, registry=registry()):
    """Base of every risk table."""


class Observation(RiskTable, table=True):
    """A customs document risk has seen, the raw material of its scores (read by its document
    id only: no other index, migration 0005)."""

    __tablename__ = "observation"

    document_id: str = Field(primary_key=True, max_length=36)
    message_type: str = Field(max_length=20)
    business_key: str = Field(max_length=60)
    ebp_code: str | None = Field(default=None, max_length=18)
    ebc_code: str | None = Field(default=None, max_length=18)
    goods_value: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    line_count: int
    correlation_id: str = Field(max_length=128)
    observed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RiskAssessment(RiskTable, table=True):
    """A declaration's score, route and reasons, with the rule set that produced them (read by
    its declaration id, or all in time order: no other index, migration 0005)."""

    __tablename__ = "risk_assessment"

    declaration_id: str = Field(primary_key=True, max_length=36)
    order_no: str = Field(max_length=60)
    ebc_code: str = Field(max_length=18)
    buyer_key: str = Field(max_length=64)
    score: int
    route: str = Field(max_length=10)
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    ruleset_version: str = Field(max_length=40)
    assessed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # The learned model's part (None: rules only) and the facts it read (to retrain from).
    model_version: str | None = Field(default=None, max_length=40)
    model_score: int | None = Field(default=None)
    facts: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RiskLabel(RiskTable, table=True):
    """What an officer's inspection found about a declaration: the model's training label."""

    __tablename__ = "risk_label"

    declaration_id: str = Field(primary_key=True, max_length=36)
    order_no: str = Field(max_length=60)
    found: bool
    finding_codes: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    outcome: str = Field(max_length=20)
    decided_by: str = Field(max_length=100)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HistoryTally(RiskTable, table=True):
    """Running counts per party, HS code or origin: the model's history features, kept up to
    date in the same transactions as the assessments and labels that change them."""

    __tablename__ = "risk_history_tally"

    kind: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=80)
    seen: int = 0
    labelled: int = 0
    found: int = 0
    log_value_sum: float = 0.0
    log_value_per_kg_sum: float = 0.0
    log_value_per_kg_count: int = 0


class DeclarationRecord(RiskTable, table=True):
    """The parties of a declaration risk assessed, at its event time: the history the velocity,
    newcomer and shared-contact rules count (pseudonyms only, never personal data)."""

    __tablename__ = "declaration_record"
    __table_args__ = (
        Index("ix_declaration_record_buyer_time", "buyer_key", "declared_at"),
        Index("ix_declaration_record_phone_time", "phone_key", "declared_at"),
        Index("ix_declaration_record_address_time", "address_key", "declared_at"),
    )

    declaration_id: str = Field(primary_key=True, max_length=36)
    ebp_code: str | None = Field(default=None, max_length=18, index=True)
    ebc_code: str = Field(max_length=18, index=True)
    buyer_key: str = Field(max_length=64)
    phone_key: str | None = Field(default=None, max_length=64)
    address_key: str | None = Field(default=None, max_length=64)
    declared_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PriceReservoir(RiskTable, table=True):
    """How many unit prices were offered to one reference key's sample (HS level, code, origin)."""

    __tablename__ = "price_reservoir"

    key: str = Field(primary_key=True, max_length=24)  # "10:1901101000:116"
    seen: int = 0


class PriceSample(RiskTable, table=True):
    """One slot of a reference key's bounded, uniform sample of declared unit prices."""

    __tablename__ = "price_sample"

    key: str = Field(primary_key=True, max_length=24)
    slot: int = Field(primary_key=True)
    unit_price: Decimal = Field(sa_column=Column(Money, nullable=False))
    declaration_id: str = Field(max_length=36)


class RuleSetChange(RiskTable, table=True):
    """A rule set version put in force through the API: who, when, why, and what changed. The
    newest (highest seq) is the active rule set; without any, the rule set file is."""

    __tablename__ = "ruleset_change"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: str = Field(max_length=40, unique=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    previous_version: str = Field(max_length=40)
    previous_document: str = Field(sa_column=Column(Text, nullable=False))
    changes: str = Field(sa_column=Column(Text, nullable=False))  # JSON: [{field, old, new}]
    actor: str = Field(max_length=128)
    reason: str = Field(max_length=500)
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


metadata = RiskTable.metadata
runtime = add_runtime_tables(metadata)
