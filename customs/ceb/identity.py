"""Signing identities on disk: PEM certificates and keys, and the algorithm a key signs with."""

from __future__ import annotations

import base64
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from customs.ceb.signature import RSA_SHA1, RSA_SHA256, SM2_SM3

ALGORITHMS_BY_NAME = {"sm2-sm3": SM2_SM3, "rsa-sha256": RSA_SHA256, "rsa-sha1": RSA_SHA1}

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----"
)


def certificate_pem(der: bytes) -> bytes:
    """A DER certificate as PEM (64-character lines)."""
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    ).encode("ascii")


def certificate_der(data: bytes) -> bytes:
    """The first certificate of PEM data, or the data itself when it is DER; ValueError if bad."""
    if b"-----BEGIN" not in data:
        return data
    match = _PEM_CERTIFICATE.search(data)
    if match is None:
        raise ValueError("no PEM CERTIFICATE block")
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError:
        raise ValueError("the PEM CERTIFICATE block is not valid base64") from None


def default_algorithm(private_key: Any) -> str:
    """The SignatureMethod a key signs with by default: RSA-SHA256 for RSA, else SM2-SM3."""
    return RSA_SHA256 if isinstance(private_key, rsa.RSAPrivateKey) else SM2_SM3
