"""The certificate registry, and the signature check every signed message goes through."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.ceb.schema import DS_NS
from customs.ceb.signature import (
    ALL_ALGORITHMS,
    SignatureError,
    SignatureOutcome,
    certificate_fingerprint,
    load_certificate,
    verify_enveloped,
)
from customs.context import Customs
from customs.db import Certificate
from customs.domain.errors import FieldError, MessageFormatError
from schemas.envelope import utc_now

# The spec's codes for a signature that does not match its data / does not verify (§1.7).
_CODES: dict[str, dict[SignatureOutcome, int]] = {
    "CEB623Message": {
        SignatureOutcome.DATA_MISMATCH: -623029,
        SignatureOutcome.VERIFY_FAILED: -623029,
    },
}
_DEFAULT = {SignatureOutcome.DATA_MISMATCH: -621028, SignatureOutcome.VERIFY_FAILED: -621029}
# Who may sign a message: the transmitting enterprise, or the declaration agent it acts for.
SIGNER_FIELDS = ("copCode", "agentCode")


class SignatureRejected(MessageFormatError):
    """A present signature does not verify, or its certificate is not the sender's."""


class CertificateInvalid(ValueError):
    """A certificate offered for registration cannot be used."""


class CertificateNotFound(LookupError):
    """No such registered certificate."""


@dataclass(frozen=True, slots=True)
class RegisteredCertificate:
    """A registered certificate as the API shows it."""

    id: int
    enterprise_code: str
    fingerprint: str
    subject: str
    algorithms: tuple[str, ...]
    registered_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Certificate) -> RegisteredCertificate:
        assert row.id is not None
        return cls(
            row.id,
            row.enterprise_code,
            row.fingerprint,
            row.subject,
            tuple(row.algorithms.split()),
            row.registered_at,
            row.revoked_at,
        )


def _der(certificate: str) -> bytes:
    text = certificate.strip()
    if text.startswith("-----BEGIN"):
        try:
            return x509.load_pem_x509_certificate(text.encode()).public_bytes(Encoding.DER)
        except ValueError as exc:
            raise CertificateInvalid(f"certificate: not a PEM X.509 certificate ({exc})") from None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateInvalid("certificate: neither PEM nor base64 DER") from None


def register(
    customs: Customs, *, enterprise_code: str, certificate: str, algorithms: Collection[str]
) -> RegisteredCertificate:
    """Register a signing certificate (PEM or base64 DER) to an enterprise code."""
    unknown = set(algorithms) - ALL_ALGORITHMS
    if not algorithms or unknown:
        raise CertificateInvalid(
            f"algorithms: each must be one of {sorted(ALL_ALGORITHMS)}; "
            f"got {sorted(unknown) or '[]'}"
        )
    der = _der(certificate)
    try:
        subject = load_certificate(der).subject.rfc4514_string()[:400]
    except ValueError as exc:
        raise CertificateInvalid(f"certificate: not a usable X.509 certificate ({exc})") from None
    fingerprint = certificate_fingerprint(der)
    with Session(customs.engine, expire_on_commit=False) as session, session.begin():
        existing = session.execute(
            select(Certificate).where(
                col(Certificate.fingerprint) == fingerprint,
                col(Certificate.enterprise_code) == enterprise_code,
            )
        ).scalar_one_or_none()
        if existing is not None:
            existing.algorithms = " ".join(sorted(algorithms))
            existing.revoked_at = None
            row = existing
        else:
            row = Certificate(
                fingerprint=fingerprint,
                enterprise_code=enterprise_code,
                der=der,
                algorithms=" ".join(sorted(algorithms)),
                subject=subject,
                registered_at=utc_now(),
            )
            session.add(row)
        session.flush()
        return RegisteredCertificate.of(row)


def listed(customs: Customs, enterprise_code: str) -> list[RegisteredCertificate]:
    """The certificates registered to an enterprise, newest first."""
    with Session(customs.engine) as session:
        rows = session.execute(
            select(Certificate)
            .where(col(Certificate.enterprise_code) == enterprise_code)
            .order_by(col(Certificate.id).desc())
        ).scalars()
        return [RegisteredCertificate.of(row) for row in rows]


def revoke(customs: Customs, certificate_id: int) -> RegisteredCertificate:
    """Stop accepting signatures made with a certificate."""
    with Session(customs.engine, expire_on_commit=False) as session, session.begin():
        row = session.get(Certificate, certificate_id)
        if row is None:
            raise CertificateNotFound(f"no registered certificate {certificate_id}")
        row.revoked_at = row.revoked_at or utc_now()
        return RegisteredCertificate.of(row)


def _rejected(
    message_type: str, outcome: SignatureOutcome, rule: str, message: str, path: str
) -> SignatureRejected:
    code = _CODES.get(message_type, _DEFAULT)[outcome]
    return SignatureRejected(
        code=str(code),
        title="Signed data does not match"
        if outcome is SignatureOutcome.DATA_MISMATCH
        else "Signature verification failed",
        errors=(FieldError(path=path, rule=rule, message=message),),
    )


# The algorithms registered with a certificate to any of the enterprises (one row each), built
# once: a Core statement on a plain connection costs far less than an ORM query in a Session.
_REGISTERED_ALGORITHMS = select(col(Certificate.algorithms)).where(
    col(Certificate.fingerprint) == bindparam("fingerprint"),
    col(Certificate.enterprise_code).in_(bindparam("codes", expanding=True)),
    col(Certificate.revoked_at).is_(None),
)


def check_signature(
    customs: Customs, root: etree._Element, *, message_type: str, signers: dict[str, str]
) -> str | None:
    """Verify a message's signature, if it has one, against the sender's registered certificates.

    Returns the certificate fingerprint, or None for an unsigned message (the XSD already refused
    an unsigned message where a signature is mandatory). `signers` are the enterprise codes
    allowed to have signed (BaseTransfer copCode, the documents' agentCode).
    """
    if root.find(f"{{{DS_NS}}}Signature") is None and not root.findall(f".//{{{DS_NS}}}Signature"):
        return None
    try:
        verified = verify_enveloped(root, allowed_algorithms=ALL_ALGORITHMS)
    except SignatureError as exc:
        raise _rejected(message_type, exc.outcome, exc.rule, exc.message, exc.path) from None
    codes = sorted(set(signers.values()))
    with customs.engine.connect() as conn:
        registered = (
            conn.execute(
                _REGISTERED_ALGORITHMS,
                {"fingerprint": verified.certificate_sha256, "codes": codes},
            )
            .scalars()
            .all()
        )
    path = f"/ceb:{message_type}/ds:Signature/ds:KeyInfo"
    if not registered:
        raise _rejected(
            message_type,
            SignatureOutcome.VERIFY_FAILED,
            "certificate-not-registered",
            f"the signing certificate (sha256 {verified.certificate_sha256}) is not registered "
            f"to the sender ({', '.join(codes)})",
            path,
        )
    if not any(verified.algorithm in algorithms.split() for algorithms in registered):
        raise _rejected(
            message_type,
            SignatureOutcome.VERIFY_FAILED,
            "algorithm-not-allowed",
            f"{verified.algorithm} is not among the algorithms registered for this certificate",
            path,
        )
    return verified.certificate_sha256
