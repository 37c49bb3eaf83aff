"""Buyer personal data at rest: encrypted with the customs data key, never stored in clear.

A document's personal fields (buyer ID number, name, phone, address...) are split off its head
and stored as one Fernet token; the raw message body is stored encrypted too. Buyers are found
again (for their annual quota) by a keyed hash of their ID number, not by the number itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import unicodedata
import zlib
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clearway import jsontext
from customs.domain.personal import PERSONAL_FIELDS
from customs.recent import Recent
from schemas.ids import random_bytes

# zlib's level for message bodies: of a 36 KB CEB message, level 3 leaves 12.7% in 110 us, level 1
# 13.7% in the same time, level 6 11.2% in twice that.
_BODY_COMPRESSION = 3


class VaultError(RuntimeError):
    """Personal data could not be opened: wrong data key or damaged record."""


# How many of the tokens it sealed last a vault remembers the personal fields of (`Recent`).
RECENT_TOKENS = 8192


def _recent_tokens() -> Recent[str, dict[str, str]]:
    """The personal fields of the last tokens a vault sealed, by token.

    A declaration's documents come in separate messages, and customs matches the earlier ones
    against the last, reading them back from its database: their personal fields are opened
    again (about 30 us a document, 7% of the customs API's CPU at 450 declarations/s), though
    the process sealed them a moment before. A token is only ever the sealing of one value, so
    what it maps to here is what opening it would give. Bounded: the oldest are forgotten.
    """
    return Recent(RECENT_TOKENS)


class _Hmac:
    """HMAC-SHA256 under one key, set up once and copied for each value: the same value as
    `hmac.digest(key, data, "sha256")`, which sets OpenSSL's HMAC up anew each call (3.4-4.2
    against 2.6 us for a token's 200 bytes) and lets go of the GIL each time (py-spy `--idle`
    found the customs API's serial writer, which seals a few tokens a declaration, there 4.3% of
    its time). A copy's update holds the GIL for less than 2 KiB."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, data: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(data)
        return mac.digest()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"clearway-customs", info=purpose
    ).derive(secret)


def _inflated(data: bytes) -> bytes:
    """A sealed body's plaintext, decompressed when it is a zlib stream. A body sealed as it
    was is an XML document, which begins with `<`, a byte order mark or white space, never
    with a zlib header (two bytes, the first 0x78 for the window zlib.compress uses, together
    a multiple of 31)."""
    if len(data) >= 2 and data[0] == 0x78 and int.from_bytes(data[:2], "big") % 31 == 0:
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise VaultError(f"the sealed message body is damaged: {exc}") from exc
    return data


@dataclass(frozen=True)
class Vault:
    """Encrypts personal fields and bodies, and hashes buyer identities, with one data key."""

    _mac_key: bytes
    # The Fernet key's halves, to write and open Fernet tokens without its per-call overhead
    # (`_token`, `_open`); tokens are byte for byte what Fernet writes and reads.
    _signing_key: bytes
    _encryption: algorithms.AES
    _recent: Recent[str, dict[str, str]] = field(
        default_factory=_recent_tokens, compare=False, repr=False
    )
    _signing: _Hmac = field(init=False, compare=False, repr=False)
    _keying: _Hmac = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_signing", _Hmac(self._signing_key))
        object.__setattr__(self, "_keying", _Hmac(self._mac_key))

    @classmethod
    def from_secret(cls, secret: str) -> Vault:
        """A vault from the configured data key (at least 32 characters of secret)."""
        if len(secret) < 32:
            raise ValueError("the customs data key must be at least 32 characters long")
        raw = secret.encode()
        fernet_key = _derive(raw, b"personal-data")
        return cls(
            _derive(raw, b"buyer-key"),
            fernet_key[:16],
            algorithms.AES(fernet_key[16:]),
        )

    def split(self, head: dict[str, str]) -> tuple[dict[str, str], str | None]:
        """The head without personal fields, and those fields as one encrypted token."""
        public = dict(head)
        names = [name for name in head if name in PERSONAL_FIELDS]  # in the head's order
        if not names:
            return public, None
        personal = {name: public.pop(name) for name in names}
        token = self._token(jsontext.encode(personal)).decode()
        self._recent.keep(token, personal)
        return public, token

    def _token(self, data: bytes) -> bytes:
        """A Fernet token of `data`, byte for byte what Fernet.encrypt writes (version 0x80,
        time, random IV, AES-128-CBC with PKCS7 padding, HMAC-SHA256, URL-safe base64), at
        less than half its cost: one cipher object, the vault's keyed HMAC and an IV from the
        random bytes read ahead for the ids (`schemas.ids.random_bytes`)."""
        iv = random_bytes(16)  # read ahead in blocks: no system call (and GIL release) a token
        padding = 16 - len(data) % 16
        encryptor = Cipher(self._encryption, modes.CBC(iv)).encryptor()
        signed = (
            b"\x80"
            + int(time.time()).to_bytes(8, "big")
            + iv
            + encryptor.update(data + bytes((padding,)) * padding)
            + encryptor.finalize()
        )
        return base64.urlsafe_b64encode(signed + self._signing.digest(signed))

    def _open(self, token: bytes) -> bytes:
        """What Fernet.decrypt (no time limit) returns for `token`, at about half its cost (the
        vault's keyed HMAC and one cipher object); InvalidToken where it raises it. The MAC, over
        everything before it, is compared in constant time before anything is decrypted."""
        try:
            data = base64.urlsafe_b64decode(token)
        except (TypeError, binascii.Error) as exc:
            raise InvalidToken from exc
        if len(data) < 1 + 8 + 16 + 16 + 32 or data[0] != 0x80 or (len(data) - 57) % 16:
            raise InvalidToken
        signed, mac = data[:-32], data[-32:]
        if not hmac.compare_digest(self._signing.digest(signed), mac):
            raise InvalidToken
        decryptor = Cipher(self._encryption, modes.CBC(data[9:25])).decryptor()
        padded = decryptor.update(data[25:-32]) + decryptor.finalize()
        padding = padded[-1]
        if not 1 <= padding <= 16 or padded[-padding:] != bytes((padding,)) * padding:
            raise InvalidToken
        return padded[:-padding]

    def join(self, public: dict[str, str], token: str | None) -> dict[str, str]:
        """The full head again (for matching and for an audited reveal)."""
        if token is None:
            return dict(public)
        personal = self._recent.get(token)  # sealed here a moment ago
        if personal is None:
            try:
                personal = jsontext.loads(self._open(token.encode()))
            except InvalidToken as exc:
                raise VaultError("personal data cannot be opened with this data key") from exc
        return {**public, **personal}

    def seal(self, body: bytes) -> bytes:
        """A message body, compressed (zlib) then encrypted (a Fernet token).

        The XML of a message shrinks to about an eighth: less to encrypt, MAC and store (a
        message of 25 documents: 48 KB sealed as it is, 6 KB compressed; 230 us to seal as it
        is, 130-150 us to compress and seal). What compression tells of the content (the token's
        length) is no more than the message's own size tells: it is stored, not sent.
        """
        return self._token(zlib.compress(body, _BODY_COMPRESSION))

    def unseal(self, sealed: bytes) -> bytes:
        """A message body, decrypted (and decompressed: a body sealed before bodies were
        compressed is returned as it was stored; see `_inflated`)."""
        try:
            return _inflated(self._open(sealed))
        except InvalidToken as exc:
            raise VaultError("the message body cannot be opened with this data key") from exc

    def buyer_key(self, id_type: str, id_number: str) -> str:
        """A stable, keyed pseudonym for a buyer identity (for quotas and history)."""
        return self._keying.digest(f"{id_type}:{id_number.upper()}".encode()).hex()

    def phone_key(self, phone: str) -> str | None:
        """A keyed pseudonym for a phone number, the same for its spellings (risk counts the
        buyers sharing one); None when it holds no digits."""
        # most numbers are digits only: kept whole rather than character by character
        digits = phone if phone.isdigit() else "".join(c for c in phone if c.isdigit())
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]  # +86 138...: the same mainland mobile number
        return self._keyed("phone", digits) if digits else None

    def address_key(self, address: str) -> str | None:
        """A keyed pseudonym for an address, blind to spaces, punctuation and letter case;
        None when it holds no letters or digits."""
        folded = unicodedata.normalize("NFKC", address).casefold()
        kept = folded if folded.isalnum() else "".join(c for c in folded if c.isalnum())
        return self._keyed("address", kept) if kept else None

    def _keyed(self, purpose: str, value: str) -> str:
        # The purpose keeps a phone, an address and a buyer identity from ever sharing a key.
        return self._keying.digest(f"{purpose}|{value}".encode()).hex()
