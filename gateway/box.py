"""Encryption of the few secrets the gateway must read back (request-signing, webhook secrets)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    """Fernet with a key derived from the gateway's data key (GATEWAY_DATA_KEY)."""

    def __init__(self, data_key: str) -> None:
        if len(data_key) < 32:
            raise ValueError("GATEWAY_DATA_KEY must be at least 32 characters")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"clearway-gateway-secrets"
        ).derive(data_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
