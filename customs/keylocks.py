"""Decisions on one partition key never interleave: transaction locks per key on PostgreSQL.

Kafka used to serialise them (the documents of a declaration share a key, so one consumer
decided them in order); decided on arrival in concurrent API requests, routed by the worker and
decided by officers, they take these locks instead, each before the rows it changes (so no two
transactions wait on each other the other way round). SQLite needs none: it has one writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text


def lock_keys(conn: Connection, keys: Iterable[str]) -> None:
    """PostgreSQL: lock these partition keys until the transaction ends, in one global order (no
    deadlock between two messages). SQLite: nothing to do."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(key) for key in keys})
    if ids:
        # unnest yields the array in order: the locks are taken in that order
        conn.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS t(k)"),
            {"ids": ids},
        )


def _lock_id(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"cw-partition").digest()
    return int.from_bytes(digest, "big", signed=True)
