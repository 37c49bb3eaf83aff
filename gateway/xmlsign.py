"""SM2-SM3 signing identities and enveloped XML signatures, for the hosted signing service.

The gateway may not import customs (services talk over HTTP), so this is the signing half of the
CEB signature profile (S2 §6) on its own: C14N 1.0 of the whole message without its Signature,
SM3 digest, SM2 signature with the default user id as 64 raw bytes r||s, the certificate in
KeyInfo. Customs verifies what is signed here exactly as it verifies any enterprise's message
(tests/gateway/test_hosted_signing.py files signed inventories through it).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"
SM3_DIGEST = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
_COMMON_NAME_OID = "2.5.4.3"


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([40 * first + second])
    for number in rest:
        chunk = [number & 0x7F]
        remaining = number >> 7
        while remaining:
            chunk.append(0x80 | (remaining & 0x7F))
            remaining >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _utc_time(moment: datetime) -> bytes:
    return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())


def new_identity(common_name: str, *, now: datetime) -> tuple[bytes, bytes]:
    """A fresh SM2 key (PKCS#8 PEM) and a self-signed X.509 v3 certificate for it (DER),
    valid two years from `now` (UTC), signed SM2-with-SM3."""
    key = sm_ec.generate_private_key(sm_ec.SM2())
    spki = bytes(
        key.public_key().public_bytes(
            sm_serialization.Encoding.DER, sm_serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    name = _der(
        0x30, _der(0x31, _der(0x30, _oid(_COMMON_NAME_OID) + _der(0x0C, common_name.encode())))
    )
    algorithm = _der(0x30, _oid(_SM2_WITH_SM3_OID))
    start = now.replace(microsecond=0) - timedelta(days=1)
    tbs = _der(
        0x30,
        _der(0xA0, _der(0x02, b"\x02"))
        + _der(0x02, b"\x01" + secrets.token_bytes(15))
        + algorithm
        + name
        + _der(0x30, _utc_time(start) + _utc_time(start + timedelta(days=731)))
        + name
        + spki,
    )
    signature = bytes(key.sign(tbs, sm_ec.ECDSA(sm_hashes.SM3())))
    certificate = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    pem = key.private_bytes(
        sm_serialization.Encoding.PEM,
        sm_serialization.PrivateFormat.PKCS8,
        sm_serialization.NoEncryption(),
    )
    return bytes(pem), certificate


def certificate_pem(der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    body = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def _sm3(data: bytes) -> bytes:
    digest = sm_hashes.Hash(sm_hashes.SM3())
    digest.update(data)
    return bytes(digest.finalize())


def sign_message(xml: bytes, *, key_pem: bytes, certificate_der: bytes, key_name: str) -> bytes:
    """The CEB message `xml` (unsigned, import direction) with an enveloped SM2-SM3 Signature
    as its last child."""
    parser = etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False)
    root = etree.fromstring(xml, parser)
    if next(root.iter(_ds("Signature")), None) is not None:
        raise ValueError("the message is signed already")
    key = sm_serialization.load_pem_private_key(key_pem, None)
    digest = _sm3(etree.tostring(root.getroottree(), method="c14n"))
    signature = etree.SubElement(root, _ds("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=C14N_10)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=SM2_SM3)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SM3_DIGEST)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    value = etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    etree.SubElement(key_info, _ds("KeyName")).text = key_name
    x509_data = etree.SubElement(key_info, _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(
        certificate_der
    ).decode("ascii")
    der = bytes(key.sign(etree.tostring(signed_info, method="c14n"), sm_ec.ECDSA(sm_hashes.SM3())))
    r, s = decode_dss_signature(der)
    value.text = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
