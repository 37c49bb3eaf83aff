"""Gateway errors and how each is answered (RFC 9457 problems): the one table for the API."""

from __future__ import annotations

from typing import Any

from clearway.http import Problem
from gateway import tenancy
from gateway.identity import (
    BadSignature,
    Forbidden,
    LockedOut,
    RateLimited,
    TooLarge,
    Unauthenticated,
)
from gateway.upstream import UpstreamUnavailable, unavailable_problem


def _unauthenticated(exc: Unauthenticated) -> Problem:
    return Problem(
        401,
        "Authentication required",
        type="/problems/unauthenticated",
        detail=str(exc),
        headers={"WWW-Authenticate": 'Bearer realm="clearway"'},
    )


def _bad_signature(exc: BadSignature) -> Problem:
    return Problem(
        401,
        "Request signature refused",
        type="/problems/bad-signature",
        detail=str(exc),
        errors=[{"path": exc.error.field, "rule": exc.error.rule, "message": exc.error.message}],
    )


def _too_large(exc: TooLarge) -> Problem:
    return Problem(413, "Body too large", type="/problems/too-large", detail=str(exc))


def _forbidden(exc: Forbidden) -> Problem:
    return Problem(403, "Forbidden", type="/problems/forbidden", detail=str(exc))


def _locked(exc: LockedOut) -> Problem:
    return Problem(423, "Account locked", type="/problems/locked", detail=str(exc))


def _rate_limited(exc: RateLimited) -> Problem:
    return Problem(
        429,
        "Too many requests",
        type="/problems/rate-limited",
        detail=str(exc),
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def _invalid(exc: tenancy.Invalid) -> Problem:
    return Problem(
        422,
        "Request is invalid",
        type="/problems/request-invalid",
        errors=[{"path": exc.field, "rule": exc.rule, "message": str(exc)}],
    )


def _conflict(exc: tenancy.Conflict) -> Problem:
    return Problem(
        409,
        "Conflict",
        type="/problems/conflict",
        detail=str(exc),
        errors=[{"path": exc.field, "rule": "unique", "message": str(exc)}],
    )


def _not_found(exc: tenancy.NotFound) -> Problem:
    return Problem(404, "Not found", type="/problems/not-found", detail=str(exc))


PROBLEMS: dict[type[Exception], Any] = {
    Unauthenticated: _unauthenticated,
    BadSignature: _bad_signature,
    Forbidden: _forbidden,
    TooLarge: _too_large,
    LockedOut: _locked,
    RateLimited: _rate_limited,
    tenancy.Invalid: _invalid,
    tenancy.Conflict: _conflict,
    tenancy.NotFound: _not_found,
    UpstreamUnavailable: unavailable_problem,
}
