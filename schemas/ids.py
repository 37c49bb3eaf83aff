"""Time-ordered ids (UUID version 7, RFC 9562) for rows and events.

48 bits of Unix milliseconds, then a 12-bit counter (the position in a batch of ids made
together) and 62 random bits, all read from the system's random source at once. Stored as a
key, a new id goes to the end of its index instead of a random page of it: far fewer page
writes per commit than random (version 4) ids, in every table an id keys (documents,
declarations, every consumer's inbox of event ids, the outbox).
"""

from __future__ import annotations

import os
import time
import uuid

_MILLIS = (1 << 48) - 1
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
MAX_BATCH = 1 << 12  # the counter field


def _ints(count: int) -> list[int]:
    if count > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} ids at once")
    prefix = (time.time_ns() // 1_000_000 & _MILLIS) << 80 | _VERSION_7
    random = int.from_bytes(os.urandom(8 * count))
    return [
        prefix | position << 64 | _VARIANT | (random >> 64 * position) & _RAND_B
        for position in range(count)
    ]


def time_ordered_ids(count: int) -> list[str]:
    """`count` new ids as text, in increasing order (at most MAX_BATCH at once)."""
    return [str(uuid.UUID(int=value)) for value in _ints(count)]


def uuid7() -> uuid.UUID:
    """One new time-ordered id."""
    return uuid.UUID(int=_ints(1)[0])
