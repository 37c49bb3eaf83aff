"""Customs errors and how each is answered (RFC 9457 problems): the one table for the API."""

from __future__ import annotations

from typing import Any

from clearway.http import Problem
from customs import export
from customs.certificates import CertificateInvalid, CertificateNotFound, SignatureRejected
from customs.clearance_service import DeclarationNotFound
from customs.deciding import NotFound
from customs.domain.access import OutOfScope, ScopeInvalid
from customs.domain.clearance import TransitionRefused
from customs.domain.errors import MessageFormatError, MessageTooLarge


def _format_problem(exc: MessageFormatError) -> Problem:
    status = 413 if isinstance(exc, MessageTooLarge) else 400 if exc.code == "0001" else 422
    errors = [
        {
            k: v
            for k, v in (
                ("path", e.path),
                ("line", e.line),
                ("rule", e.rule),
                ("message", e.message),
                ("value", e.value),
            )
            if v is not None
        }
        for e in exc.errors[:50]
    ]
    return Problem(
        status=status,
        title=exc.title,
        type=f"/problems/ceb-format-{exc.code}",
        detail=str(exc),
        errors=errors,
        extra={"code": exc.code},
    )


def _not_found(exc: NotFound) -> Problem:
    return Problem(404, "Not found", type="/problems/not-found", detail=str(exc))


def _signature_problem(exc: SignatureRejected) -> Problem:
    problem = _format_problem(exc)
    return Problem(
        422,
        exc.title,
        type="/problems/ceb-signature",
        detail=problem.detail,
        errors=problem.errors,
        extra={"code": exc.code, "returnStatus": int(exc.code)},
    )


def _certificate_problem(exc: CertificateInvalid) -> Problem:
    field, _, message = str(exc).partition(": ")
    return Problem(
        422,
        "Certificate cannot be registered",
        type="/problems/certificate-invalid",
        errors=[{"path": field, "rule": "certificate", "message": message}],
    )


class InvalidDecision(ValueError):
    """An officer decision whose details do not fit its action."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field, self.rule = field, rule


def _refused(exc: TransitionRefused) -> Problem:
    return Problem(
        409,
        "Not allowed in the declaration's state",
        type="/problems/transition-refused",
        detail=str(exc),
        extra={"status": exc.current, "allowedFrom": sorted(exc.allowed)},
    )


def _bad_decision(exc: InvalidDecision) -> Problem:
    return Problem(
        422,
        "Decision is invalid",
        type="/problems/decision-invalid",
        errors=[{"path": exc.field, "rule": exc.rule, "message": str(exc)}],
    )


class RequestInvalid(ValueError):
    """A query parameter breaks its rule."""

    def __init__(self, path: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.path, self.rule = path, rule


class OfficersOnly(PermissionError):
    """An action for customs officers, asked by someone else."""


def _officers_only(exc: OfficersOnly) -> Problem:
    return Problem(403, "Customs officers only", type="/problems/officers-only", detail=str(exc))


def _out_of_scope(exc: OutOfScope) -> Problem:
    return Problem(
        403,
        "Not your enterprise",
        type="/problems/out-of-scope",
        detail=str(exc),
        errors=[{"path": exc.field, "rule": "own-enterprise-code", "value": exc.code}],
    )


def _scope_invalid(exc: ScopeInvalid) -> Problem:
    return Problem(400, "Invalid scope", type="/problems/request-invalid", detail=str(exc))


class SigningNotConfigured(LookupError):
    """The platform has no receipt-signing identity configured."""


def _request_invalid(exc: RequestInvalid) -> Problem:
    return Problem(
        422,
        "Request is invalid",
        type="/problems/request-invalid",
        errors=[{"path": exc.path, "rule": exc.rule, "message": str(exc)}],
    )


def _signing_not_configured(exc: SigningNotConfigured) -> Problem:
    return Problem(404, "Receipt signing is not configured", detail=str(exc))


PROBLEMS: dict[type[Exception], Any] = {
    TransitionRefused: _refused,
    InvalidDecision: _bad_decision,
    DeclarationNotFound: _not_found,
    MessageFormatError: _format_problem,
    SignatureRejected: _signature_problem,
    CertificateInvalid: _certificate_problem,
    NotFound: _not_found,
    CertificateNotFound: _not_found,
    export.SummaryNotFound: _not_found,
    RequestInvalid: _request_invalid,
    SigningNotConfigured: _signing_not_configured,
    OfficersOnly: _officers_only,
    OutOfScope: _out_of_scope,
    ScopeInvalid: _scope_invalid,
}
