"""Token buckets: each client may send `rate` requests a second on average, `burst` at once."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    bucket: Bucket
    retry_after_s: int  # whole seconds until one token is back (0 when allowed)


def take(bucket: Bucket | None, *, now: float, rate: float, burst: int) -> Verdict:
    """Take one token from a client's bucket (a new client starts full)."""
    if bucket is None:
        bucket = Bucket(tokens=float(burst), updated=now)
    tokens = min(float(burst), bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens >= 1.0:
        return Verdict(True, Bucket(tokens - 1.0, now), 0)
    wait = (1.0 - tokens) / rate if rate > 0 else 3600.0
    return Verdict(False, Bucket(tokens, now), max(1, math.ceil(wait)))
