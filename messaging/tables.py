"""The runtime's own tables (outbox and inbox), added to each service's metadata."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only autoincrements INTEGER PRIMARY KEY columns.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True, slots=True)
class RuntimeTables:
    """The outbox (events waiting to be published) and inbox (events already handled)."""

    outbox: Table
    inbox: Table


def add_runtime_tables(metadata: MetaData) -> RuntimeTables:
    """Define the outbox and inbox tables on a service's own metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(128), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("correlation_id", String(128), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer_group", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    return RuntimeTables(outbox=outbox, inbox=inbox)
