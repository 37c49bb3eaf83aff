"""Time-ordered ids (UUID version 7, RFC 9562) for rows and events.

48 bits of Unix milliseconds, then a 12-bit counter (the position in a batch of ids made
together) and 62 random bits from the system's random source, read RANDOM_BUFFER bytes at a
time: an `os.urandom` per id is a system call, around which Python lets go of the GIL, and the
customs API's group writer makes an id for every event it raises (a thread that lets go of the
GIL waits to get it back while others run). A process's buffer is emptied in a child it forks,
which would otherwise make the same ids as its parent. Stored as a key, a new id goes to the end
of its index instead of a random page of it: far fewer page writes per commit than random
(version 4) ids, in every table an id keys (documents, declarations, every consumer's inbox of
event ids, the outbox).
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_MILLIS = (1 << 48) - 1
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
MAX_BATCH = 1 << 12  # the counter field


RANDOM_BUFFER = 4096  # bytes of the random source read at once (512 ids)


class _Random:
    """Random bytes from the system's source, read ahead a buffer at a time (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def take(self, size: int) -> bytes:
        with self._lock:
            if self._at + size > len(self._buffer):
                self._buffer, self._at = os.urandom(max(RANDOM_BUFFER, size)), 0
            start = self._at
            self._at += size
            return self._buffer[start : self._at]

    def forget(self) -> None:
        """Drop what was read ahead (in a forked child: its parent will use those bytes)."""
        self._lock = threading.Lock()  # a thread of the parent may have held it at the fork
        self._buffer, self._at = b"", 0


_random = _Random()
os.register_at_fork(after_in_child=_random.forget)


def random_bytes(size: int) -> bytes:
    """`size` bytes of the system's random source, from the buffer the ids are made from (each
    byte handed out once; a forked child reads its own)."""
    return _random.take(size)


def _ints(count: int) -> list[int]:
    if count > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} ids at once")
    prefix = (time.time_ns() // 1_000_000 & _MILLIS) << 80 | _VERSION_7
    random = int.from_bytes(_random.take(8 * count))
    return [
        prefix | position << 64 | _VARIANT | (random >> 64 * position) & _RAND_B
        for position in range(count)
    ]


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid(value: int) -> uuid.UUID:
    """`uuid.UUID(int=value)` for a value made here (128 bits, version and variant set): the
    attributes UUID.__init__ ends by setting, without its checks of arguments it was not given
    (0.2 against 0.5 us; an event, an inbox row and a document each take an id)."""
    made: uuid.UUID = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made


def time_ordered_uuids(count: int) -> list[uuid.UUID]:
    """`count` new ids, in increasing order (at most MAX_BATCH at once)."""
    return [_uuid(value) for value in _ints(count)]


def uuid7() -> uuid.UUID:
    """One new time-ordered id."""
    prefix = (time.time_ns() // 1_000_000 & _MILLIS) << 80 | _VERSION_7 | _VARIANT
    return _uuid(prefix | int.from_bytes(_random.take(8)) & _RAND_B)
