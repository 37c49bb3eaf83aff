"""HMAC signatures: requests signed by clients, and webhook payloads signed by the gateway.

A signed request carries `X-Clearway-Timestamp` (Unix seconds), `X-Clearway-Nonce` (unique per
request) and `X-Clearway-Signature: v1=<hex HMAC-SHA256>` over
`<timestamp>.<nonce>.<METHOD>.<path with query>.<hex SHA-256 of the body>`. It is refused when the
timestamp is more than 300 s away from the gateway's clock or the nonce was seen before.
A webhook carries `X-Clearway-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

WINDOW_S = 300


@dataclass(frozen=True, slots=True)
class SignatureError:
    """Why a signed request is refused: the header it concerns and the rule it breaks."""

    field: str
    rule: str
    message: str


def request_base(timestamp: str, nonce: str, method: str, target: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{timestamp}.{nonce}.{method.upper()}.{target}.{body_hash}".encode()


def sign_request(
    secret: str, *, timestamp: str, nonce: str, method: str, target: str, body: bytes
) -> str:
    """The `X-Clearway-Signature` value a client sends (also what the gateway expects)."""
    base = request_base(timestamp, nonce, method, target, body)
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def check_request(
    secret: str,
    *,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    method: str,
    target: str,
    body: bytes,
    now: float,
) -> SignatureError | None:
    """None when the request is signed correctly and fresh; otherwise what is wrong."""
    if not timestamp or not timestamp.isdigit():
        return SignatureError(
            "X-Clearway-Timestamp", "required", "a signed request needs its Unix time in seconds"
        )
    if abs(now - int(timestamp)) > WINDOW_S:
        return SignatureError(
            "X-Clearway-Timestamp",
            "window",
            f"the timestamp is more than {WINDOW_S} s away from the gateway's clock",
        )
    if not nonce or not 8 <= len(nonce) <= 64:
        return SignatureError("X-Clearway-Nonce", "required", "a nonce of 8 to 64 characters")
    expected = sign_request(
        secret, timestamp=timestamp, nonce=nonce, method=method, target=target, body=body
    )
    if not signature or not hmac.compare_digest(signature, expected):
        return SignatureError(
            "X-Clearway-Signature", "hmac-sha256", "the signature does not match the request"
        )
    return None


def sign_webhook(secret: str, *, timestamp: int, body: bytes) -> str:
    """The `X-Clearway-Signature` header of a webhook delivery."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
