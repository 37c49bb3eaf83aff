"""Customs tables, on customs' own metadata (its own database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

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
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Document(CustomsTable, table=True):
    """One business document (an order...) of a submission, with its current return status."""

    __tablename__ = "document"

    id: str = Field(primary_key=True, max_length=36)
    submission_id: str = Field(foreign_key="submission.id", index=True, max_length=36)
    seq: int
    message_type: str = Field(max_length=20)
    business_key: str = Field(max_length=60, index=True)
    ebp_code: str = Field(max_length=18)
    ebc_code: str = Field(max_length=18)
    guid: str = Field(max_length=36)
    app_type: str = Field(max_length=1)
    head: str = Field(sa_column=Column(Text, nullable=False))
    lines: str = Field(sa_column=Column(Text, nullable=False))
    return_status: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Receipt(CustomsTable, table=True):
    """Every receipt customs issued for a document, in order (the document's timeline)."""

    __tablename__ = "receipt"

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="document.id", index=True, max_length=36)
    return_status: int
    return_info: str = Field(max_length=1000)
    return_time: str = Field(max_length=17)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AcceptedOrder(CustomsTable, table=True):
    """Order numbers accepted per platform: an order number is declared once (-301010)."""

    __tablename__ = "accepted_order"
    __table_args__ = (UniqueConstraint("ebp_code", "order_no"),)

    id: int | None = Field(default=None, primary_key=True)
    ebp_code: str = Field(max_length=18)
    order_no: str = Field(max_length=60)
    document_id: str = Field(foreign_key="document.id", max_length=36)


metadata = CustomsTable.metadata
runtime = add_runtime_tables(metadata)
