"""Customs' own signature on the receipts it sends: a signed DXP envelope around each receipt.

Receipt messages (CEB312, CEB622...) have no place for a signature in their XSD; customs sends
them through the data exchange platform in a `dxp:DxpMsg`, which does. The platform's signing
key and certificate are files named in its settings; the certificate is published so that
enterprises can verify the receipts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from customs.ceb import dxp
from customs.ceb.identity import certificate_der, certificate_pem, default_algorithm
from customs.ceb.signature import (
    generate_test_identity,
    load_certificate,
    load_private_key_pem,
    private_key_to_pem,
    sign_enveloped,
)


@dataclass(frozen=True)
class ReceiptSigner:
    """Signs receipt envelopes with the platform's key."""

    private_key: Any
    certificate_der: bytes
    algorithm: str
    dxp_id: str = dxp.CUSTOMS_DXP_ID

    @classmethod
    def from_files(cls, key_file: str, certificate_file: str) -> ReceiptSigner:
        """Load the platform identity; ValueError naming the file when it cannot be used."""
        try:
            key = load_private_key_pem(Path(key_file).read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{key_file}: not a usable private key ({exc})") from None
        try:
            der = certificate_der(Path(certificate_file).read_bytes())
            load_certificate(der)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{certificate_file}: not a usable certificate ({exc})") from None
        return cls(key, der, default_algorithm(key))

    @property
    def certificate_pem(self) -> bytes:
        return certificate_pem(self.certificate_der)

    def envelope(self, receipt_xml: bytes, *, msg_type: str, receiver_id: str) -> bytes:
        """The receipt in a DxpMsg signed (enveloped) by the platform."""
        wrapped = dxp.wrap(
            receipt_xml, sender_id=self.dxp_id, receiver_id=receiver_id[:16], msg_type=msg_type
        )
        root = etree.fromstring(wrapped)
        sign_enveloped(
            root,
            private_key=self.private_key,
            certificate_der=self.certificate_der,
            algorithm=self.algorithm,
        )
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def make_identity(folder: Path, name: str = "Clearway customs platform") -> tuple[Path, Path]:
    """Create an SM2 platform identity in `folder` once (key 0600); the paths of key and cert."""
    key_path, cert_path = folder / "receipt-key.pem", folder / "receipt-cert.pem"
    if not key_path.exists() or not cert_path.exists():
        from customs.ceb.signature import SM2_SM3

        key, der = generate_test_identity(SM2_SM3, name)
        key_path.touch(mode=0o600)
        key_path.write_bytes(private_key_to_pem(key))
        cert_path.write_bytes(certificate_pem(der))
    return key_path, cert_path
