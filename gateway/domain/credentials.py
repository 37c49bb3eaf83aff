"""Credentials of machine clients: API keys and OAuth2 access tokens.

An API key reads `cwk_<client id>_<secret>`: the id finds the client, the secret (256 random bits)
is checked against its SHA-256, which is all the gateway stores (a key this strong needs no slow
hash; passwords do, and get argon2). Access tokens read `cwt_<secret>` and are stored the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "cwk_"
TOKEN_PREFIX = "cwt_"  # noqa: S105 - a prefix, not a secret
_API_KEY = re.compile(r"^cwk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key as shown once to its owner, and what is stored of it."""

    client_id: str
    key: str
    secret_hash: str


def digest(secret: str) -> str:
    """What is stored of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(client_id: str | None = None) -> NewKey:
    """A fresh key for a new client, or a rotated key for an existing one."""
    client_id = client_id or secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewKey(client_id, f"{API_KEY_PREFIX}{client_id}_{secret}", digest(secret))


def parse_api_key(key: str) -> tuple[str, str] | None:
    """(client id, secret) of a well-formed key; None for anything else."""
    found = _API_KEY.match(key)
    return (found.group(1), found.group(2)) if found else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_hash)


def new_token() -> tuple[str, str]:
    """An access token and its stored hash."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, digest(token)
