"""Risk tables, on risk's own metadata (its own database)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from clearway.database import Money
from messaging.tables import add_runtime_tables


class RiskTable(SQLModel, registry=registry()):
    """Base of every risk table."""


class Observation(RiskTable, table=True):
    """A customs document risk has seen, the raw material of its scores."""

    __tablename__ = "observation"

    document_id: str = Field(primary_key=True, max_length=36)
    message_type: str = Field(max_length=20)
    business_key: str = Field(max_length=60, index=True)
    ebp_code: str | None = Field(default=None, max_length=18, index=True)
    ebc_code: str | None = Field(default=None, max_length=18)
    goods_value: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    line_count: int
    correlation_id: str = Field(max_length=128)
    observed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RiskAssessment(RiskTable, table=True):
    """A declaration's score, route and reasons, with the rule set that produced them."""

    __tablename__ = "risk_assessment"

    declaration_id: str = Field(primary_key=True, max_length=36)
    order_no: str = Field(max_length=60, index=True)
    ebc_code: str = Field(max_length=18, index=True)
    buyer_key: str = Field(max_length=64, index=True)
    score: int
    route: str = Field(max_length=10, index=True)
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    ruleset_version: str = Field(max_length=40)
    assessed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


metadata = RiskTable.metadata
runtime = add_runtime_tables(metadata)
