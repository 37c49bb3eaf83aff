"""Enveloped XML-DSig as the CBEC spec uses it (S2 §6): verify and sign, RSA and SM2/SM3.

Only the profile the spec describes is accepted, so that nothing outside it can be smuggled in:

- exactly one `ds:Signature`, a direct child of the message root;
- `SignedInfo` = `CanonicalizationMethod` C14N 1.0 (without comments), `SignatureMethod`, and one
  `Reference URI=""` whose `Transforms` are exactly the enveloped-signature transform (optionally
  followed by C14N 1.0), then the `DigestMethod` paired with the signature method, `DigestValue`;
- `KeyInfo` = optional `KeyName` + `X509Data` holding exactly one `X509Certificate`; no
  `ds:Object` or anything else anywhere in the Signature.

DigestValue = base64(hash(C14N 1.0 of the document with the Signature element removed; its tail
text stays, as the enveloped-signature transform says)). SignatureValue is over the C14N 1.0 of
`SignedInfo` in place, so with the namespace declarations it inherits from the root (C14N 1.0
document-subset rules, which is what Java/Santuario signers produce). Verification detaches the
Signature for a moment to canonicalise the rest and puts it back exactly (a tree must not be
verified from two threads at once).

Signature wrapping: `Reference URI=""` covers the whole document but the Signature, and a
Signature anywhere but directly under the root, a second one, or any extra element inside it is
refused, so any element slipped in or moved changes the digest. `verify_enveloped` returns the
very root it verified; read business values from `VerifiedSignature.root` only, never from another
parse of the same bytes.

Comments and processing instructions: C14N without comments ignores comments, so in
`<orderNo>A<!--x-->B</orderNo>` the comment is not signed, and lxml's `.text` would read "A" while
"AB" was signed. Parse with `etree.XMLParser(remove_comments=True, remove_pis=True)` (the text
then reads "AB", exactly what was signed); a tree still holding a comment, processing instruction
or entity reference below the root is refused (`comment-in-document`), and so is signing one.
xml:* attributes on the root or on the Signature are refused too: C14N 1.0 would carry them into
the canonical SignedInfo and lxml's in-place C14N does not.

SM2 (tongsuopy 1.0.1, Tongsuo "OpenSSL 1.1.1h"-based): `key.sign(data, ec.ECDSA(hashes.SM3()))`
is SM2 signing with SM3 *including the Z value* computed with the GM/T 0009 default user id
"1234567812345678"; `verify` does the same (checked against an independent SM2 implementation).
It returns DER `SEQUENCE{r, s}`; the spec's samples carry 64 raw bytes r||s (88 base64 chars), so
that is what we write; on verification a 64-byte value is r||s, any other length must be strict DER.
tongsuopy has no X.509 support: certificates are parsed by `cryptography` (which cannot load an
SM2 public key), the SubjectPublicKeyInfo is cut out of the TBS and loaded by tongsuopy, and the
SM2 test certificate is assembled in DER here and signed SM2-with-SM3 (OID 1.2.156.10197.1.501).

Speed (measured on the 2-core dev machine, under load: 2,000 verifications of one CEB311 with one
order, already parsed, certificate cached): RSA-SHA256 (2048) about 5,500-6,600/s, RSA-SHA1 about
the same, SM2-SM3 about 1,300-1,700/s on one thread. C14N + digest is 30-70 µs of each; the rest
of SM2 is Tongsuo's SM2 verify itself (~0.5 ms). cffi releases the GIL in it, so two threads gave
~2,900-3,800 raw SM2 verifies/s. Certificates are parsed once, in a bounded LRU keyed by their DER.

Not checked here: the certificate's validity dates, chain and revocation, and whether it is
registered to the sender; the result carries the certificate and its SHA-256 for that.

Errors: everything wrong with the input raises `SignatureError` with an outcome (`DATA_MISMATCH`,
`VERIFY_FAILED`), the inventory codes as defaults (-621028, -621029) and a kebab rule; callers
map the outcome to their own message's code (e.g. -623029 for CEB623). Checks run in this order:
the profile and allow-list, base64 and the certificate (VERIFY_FAILED), the digest
(DATA_MISMATCH), then the key type and SignatureValue (VERIFY_FAILED). So the official 202205
samples, which all carry one copied block (an SHA-1-sized DigestValue under the SM3 URI, an RSA-1024
certificate and RSA signature under the SM2 URI), are refused as DATA_MISMATCH.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as cserialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from lxml import etree
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from customs.ceb.schema import DS_NS, NSMAP
from customs.domain.errors import FieldError

C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SM2_SM3 = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3"

SHA1_DIGEST = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256_DIGEST = "http://www.w3.org/2001/04/xmlenc#sha256"
SM3_DIGEST = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"

SPEC_ALGORITHMS: frozenset[str] = frozenset({SM2_SM3, RSA_SHA1})
"""The two signature methods S2 §6.2.1.2 allows (SM2 preferred)."""
ALL_ALGORITHMS: frozenset[str] = frozenset({SM2_SM3, RSA_SHA1, RSA_SHA256})

SM2_USER_ID = b"1234567812345678"  # what tongsuopy uses for Z; documented, not passed anywhere

CERTIFICATE_CACHE_SIZE = 4096
MIN_RSA_BITS = 1024  # the spec's own sample certificate is RSA-1024

_SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_RSA_ENCRYPTION_OID = x509.ObjectIdentifier("1.2.840.113549.1.1.1")
_SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
_COMMON_NAME_OID = "2.5.4.3"
_XML_NS = "http://www.w3.org/XML/1998/namespace"


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


_SIGNATURE = _ds("Signature")
_SIGNED_INFO = _ds("SignedInfo")
_C14N_METHOD = _ds("CanonicalizationMethod")
_SIGNATURE_METHOD = _ds("SignatureMethod")
_REFERENCE = _ds("Reference")
_TRANSFORMS = _ds("Transforms")
_TRANSFORM = _ds("Transform")
_DIGEST_METHOD = _ds("DigestMethod")
_DIGEST_VALUE = _ds("DigestValue")
_SIGNATURE_VALUE = _ds("SignatureValue")
_KEY_INFO = _ds("KeyInfo")
_KEY_NAME = _ds("KeyName")
_X509_DATA = _ds("X509Data")
_X509_CERTIFICATE = _ds("X509Certificate")


class SignatureOutcome(enum.Enum):
    """The two ways a signature check fails, which each message type maps to its own code."""

    DATA_MISMATCH = "data-mismatch"  # the signed data does not match (digest)
    VERIFY_FAILED = "verify-failed"  # anything else: value, algorithm, structure, certificate


DEFAULT_CODES: Mapping[SignatureOutcome, int] = MappingProxyType(
    {SignatureOutcome.DATA_MISMATCH: -621028, SignatureOutcome.VERIFY_FAILED: -621029}
)


class SignatureError(Exception):
    """A message's signature is not acceptable (or a document cannot be signed)."""

    def __init__(
        self, outcome: SignatureOutcome, rule: str, message: str, *, path: str = "/"
    ) -> None:
        self.outcome = outcome
        self.code = DEFAULT_CODES[outcome]
        self.rule = rule
        self.message = message
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.code} {self.rule}: {self.message}"

    def field_error(self) -> FieldError:
        """The problem as a field error pointing at the Signature part at fault."""
        return FieldError(path=self.path, rule=self.rule, message=self.message)


def _failed(rule: str, message: str, element: etree._Element | None = None) -> SignatureError:
    path = _path(element) if element is not None else "/"
    return SignatureError(SignatureOutcome.VERIFY_FAILED, rule, message, path=path)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A verified message: read business values from `root` (the very tree that was verified)."""

    root: etree._Element
    algorithm: str
    key_name: str | None
    certificate: x509.Certificate
    certificate_der: bytes
    certificate_sha256: str  # lowercase hex of SHA-256 over the DER: match it against the registry


# --- algorithms -------------------------------------------------------------------------------


def _sm3(data: bytes) -> bytes:
    digest = sm_hashes.Hash(sm_hashes.SM3())
    digest.update(data)
    return bytes(digest.finalize())


def _sm3_function() -> Callable[[bytes], bytes]:
    try:
        hashlib.new("sm3", b"")
    except ValueError:  # a system OpenSSL built without SM3: Tongsuo has it
        return _sm3
    return lambda data: hashlib.new("sm3", data).digest()


@dataclass(frozen=True, slots=True)
class _Algorithm:
    uri: str
    digest_uri: str
    key_type: str  # "rsa" or "sm2"
    digest: Callable[[bytes], bytes]
    rsa_hash: type[hashes.HashAlgorithm] | None = None


def _sha1(data: bytes) -> bytes:
    # SHA-1 is weak, but it is one of the two methods the spec mandates (S2 §6.2.1.2)
    return hashlib.sha1(data).digest()  # noqa: S324


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


_ALGORITHMS: dict[str, _Algorithm] = {
    RSA_SHA1: _Algorithm(RSA_SHA1, SHA1_DIGEST, "rsa", _sha1, hashes.SHA1),
    RSA_SHA256: _Algorithm(RSA_SHA256, SHA256_DIGEST, "rsa", _sha256, hashes.SHA256),
    SM2_SM3: _Algorithm(SM2_SM3, SM3_DIGEST, "sm2", _sm3_function()),
}


# --- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Certificate:
    certificate: x509.Certificate
    key_type: str
    public_key: Any  # rsa.RSAPublicKey, or a tongsuopy SM2 public key
    sha256: str


def certificate_fingerprint(certificate_der: bytes) -> str:
    """The SHA-256 fingerprint (lowercase hex) a certificate is registered under."""
    return hashlib.sha256(certificate_der).hexdigest()


@lru_cache(maxsize=CERTIFICATE_CACHE_SIZE)
def _load_certificate(der: bytes) -> _Certificate:
    """Parse a DER certificate once (exceptions are not cached, so junk is parsed each time)."""
    certificate = x509.load_der_x509_certificate(der)
    if certificate.public_key_algorithm_oid == _RSA_ENCRYPTION_OID:
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits")
        return _Certificate(certificate, "rsa", key, certificate_fingerprint(der))
    sm2_key = sm_serialization.load_der_public_key(_spki_of(certificate.tbs_certificate_bytes))
    if not isinstance(sm2_key, sm_ec.EllipticCurvePublicKey) or not isinstance(
        sm2_key.curve, sm_ec.SM2
    ):
        raise ValueError("neither an RSA nor an SM2 public key")
    return _Certificate(certificate, "sm2", sm2_key, certificate_fingerprint(der))


def load_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate this module can verify with (RSA of 1024+ bits, or SM2), or ValueError."""
    try:
        return _load_certificate(der).certificate
    except ValueError:
        raise
    except Exception as exc:  # tongsuopy and the DER walker raise their own types on junk
        raise ValueError(f"unreadable certificate ({type(exc).__name__})") from None


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the DER item at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end


def _spki_of(tbs: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a TBSCertificate: the 7th field (6th without [0] version)."""
    _tag, pos, _end = _der_item(tbs, 0)
    if tbs[pos] == 0xA0:  # [0] EXPLICIT version
        pos = _der_item(tbs, pos)[2]
    for _field in range(5):  # serialNumber, signature, issuer, validity, subject
        pos = _der_item(tbs, pos)[2]
    _tag, _start, end = _der_item(tbs, pos)
    return tbs[pos:end]


# --- verification -----------------------------------------------------------------------------


def verify_enveloped(
    root: etree._Element, *, allowed_algorithms: Collection[str]
) -> VerifiedSignature:
    """Verify the one enveloped signature of a message; any problem raises `SignatureError`."""
    try:
        return _verify(root, allowed_algorithms)
    except SignatureError:
        raise
    except Exception as exc:  # a library error on hostile input must not escape as itself
        raise _failed(
            "signature-unreadable", f"the signature cannot be checked ({type(exc).__name__})"
        ) from exc


def _verify(root: etree._Element, allowed_algorithms: Collection[str]) -> VerifiedSignature:
    _check_document(root)
    signatures = list(root.iter(_SIGNATURE))
    if not signatures:
        raise _failed("signature-missing", "the message carries no ds:Signature", root)
    if len(signatures) > 1:
        raise _failed(
            "signature-duplicate",
            f"the message carries {len(signatures)} ds:Signature elements; exactly one is allowed",
            signatures[1],
        )
    signature = signatures[0]
    if signature.getparent() is not root:
        raise _failed(
            "signature-position",
            "ds:Signature must be a direct child of the message root",
            signature,
        )
    _check_no_xml_attributes(signature)
    parts = _parse_signature(signature)

    algorithm = _ALGORITHMS.get(parts.signature_method)
    if algorithm is None:
        raise _failed(
            "algorithm-unsupported",
            f"signature method {parts.signature_method!r} is not supported",
            parts.signature_method_element,
        )
    if algorithm.uri not in allowed_algorithms:
        raise _failed(
            "algorithm-not-allowed",
            f"signature method {algorithm.uri} is not allowed for this sender",
            parts.signature_method_element,
        )
    if parts.digest_method != algorithm.digest_uri:
        raise _failed(
            "digest-method-mismatch",
            f"digest method {parts.digest_method!r} does not go with {algorithm.uri}"
            f" (expected {algorithm.digest_uri})",
            parts.digest_method_element,
        )

    digest_value = _base64(parts.digest_value_element)
    signature_value = _base64(parts.signature_value_element)
    certificate_der = _base64(parts.certificate_element)
    if not signature_value:
        raise _failed("signature-value-empty", "SignatureValue is empty", signature)
    try:
        loaded = _load_certificate(certificate_der)
    except Exception as exc:
        raise _failed(
            "certificate-unreadable",
            f"X509Certificate is not a usable RSA or SM2 certificate ({exc})",
            parts.certificate_element,
        ) from exc

    if not hmac.compare_digest(digest_value, _document_digest(root, signature, algorithm)):
        raise SignatureError(
            SignatureOutcome.DATA_MISMATCH,
            "digest-mismatch",
            "the signed data does not match the message (DigestValue differs)",
            path=_path(parts.digest_value_element),
        )

    if loaded.key_type != algorithm.key_type:
        raise _failed(
            "certificate-key-mismatch",
            f"the certificate holds an {loaded.key_type.upper()} key but the signature method is"
            f" {algorithm.uri}",
            parts.certificate_element,
        )
    signed_info = etree.tostring(parts.signed_info, method="c14n")
    if not _signature_matches(algorithm, loaded.public_key, signature_value, signed_info):
        raise _failed(
            "signature-invalid",
            "SignatureValue does not verify against SignedInfo with the certificate's key",
            parts.signature_value_element,
        )
    return VerifiedSignature(
        root=root,
        algorithm=algorithm.uri,
        key_name=parts.key_name,
        certificate=loaded.certificate,
        certificate_der=certificate_der,
        certificate_sha256=loaded.sha256,
    )


def _signature_matches(
    algorithm: _Algorithm, public_key: Any, value: bytes, signed_info: bytes
) -> bool:
    if algorithm.key_type == "rsa":
        assert algorithm.rsa_hash is not None
        try:
            public_key.verify(value, signed_info, padding.PKCS1v15(), algorithm.rsa_hash())
        except InvalidSignature:
            return False
        return True
    der = _sm2_der(value)
    if der is None:
        return False
    try:
        public_key.verify(der, signed_info, sm_ec.ECDSA(sm_hashes.SM3()))
    except Exception:  # tongsuopy's InvalidSignature, or an internal error on odd input
        return False
    return True


def _sm2_der(value: bytes) -> bytes | None:
    """A DER SM2 signature from r||s (64 bytes) or strict DER; None when it is neither/invalid."""
    if len(value) == 64:
        r = int.from_bytes(value[:32], "big")
        s = int.from_bytes(value[32:], "big")
    else:
        try:
            r, s = decode_dss_signature(value)
        except ValueError:
            return None
        if encode_dss_signature(r, s) != value:
            return None
    if not (0 < r < _SM2_ORDER and 0 < s < _SM2_ORDER):
        return None
    return encode_dss_signature(r, s)


@dataclass(frozen=True, slots=True)
class _SignatureParts:
    signed_info: etree._Element
    signature_method: str
    signature_method_element: etree._Element
    digest_method: str
    digest_method_element: etree._Element
    digest_value_element: etree._Element
    signature_value_element: etree._Element
    certificate_element: etree._Element
    key_name: str | None


def _parse_signature(signature: etree._Element) -> _SignatureParts:
    """Check the Signature has exactly the spec's shape and pick out its parts."""
    signed_info, signature_value, key_info = _children(
        signature, (_SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO)
    )
    c14n, method, reference = _children(signed_info, (_C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE))
    if _algorithm_of(c14n) != C14N_10:
        raise _failed(
            "c14n-unsupported",
            f"CanonicalizationMethod must be {C14N_10}, not {c14n.get('Algorithm')!r}",
            c14n,
        )
    _children(method, ())
    if reference.get("URI") != "":
        raise _failed(
            "reference-uri",
            f'Reference URI must be "" (the whole message), not {reference.get("URI")!r}',
            reference,
        )
    transforms, digest_method, digest_value = _children(
        reference, (_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE)
    )
    transform_list = [child for child in transforms if isinstance(child.tag, str)]
    _children(transforms, tuple(_TRANSFORM for _ in transform_list))
    algorithms = [_algorithm_of(transform) for transform in transform_list]
    if algorithms not in ([ENVELOPED_SIGNATURE], [ENVELOPED_SIGNATURE, C14N_10]):
        raise _failed(
            "transform-unsupported",
            "Transforms must be exactly the enveloped-signature transform"
            f" (optionally then C14N 1.0), not {algorithms}",
            transforms,
        )
    for transform in transform_list:
        _children(transform, ())
    _children(digest_method, ())
    _children(digest_value, ())
    _children(signature_value, ())

    key_children = [child for child in key_info if isinstance(child.tag, str)]
    expected = (_KEY_NAME, _X509_DATA) if len(key_children) == 2 else (_X509_DATA,)
    key_parts = _children(key_info, expected, rule="key-info-unexpected")
    x509_data = key_parts[-1]
    (certificate,) = _children(x509_data, (_X509_CERTIFICATE,), rule="key-info-unexpected")
    _children(certificate, ())
    key_name: str | None = None
    if len(key_parts) == 2:
        _children(key_parts[0], ())
        key_name = (key_parts[0].text or "").strip() or None
    return _SignatureParts(
        signed_info=signed_info,
        signature_method=_algorithm_of(method),
        signature_method_element=method,
        digest_method=_algorithm_of(digest_method),
        digest_method_element=digest_method,
        digest_value_element=digest_value,
        signature_value_element=signature_value,
        certificate_element=certificate,
        key_name=key_name,
    )


def _children(
    element: etree._Element, expected: tuple[str, ...], *, rule: str = "signature-malformed"
) -> list[etree._Element]:
    """The element children of `element`, which must be exactly `expected` with no stray text.

    With no children expected the element is a leaf whose text is its value.
    """
    children = list(element)
    tags = [child.tag for child in children]
    if tags != list(expected):
        names = ", ".join(etree.QName(tag).localname for tag in expected) or "no child elements"
        raise _failed(rule, f"{_name(element)} must contain {names}", element)
    if expected:
        texts = [element.text, *(child.tail for child in children)]
        if any(text and text.strip() for text in texts):
            raise _failed(rule, f"{_name(element)} must not contain text", element)
    return children


def _algorithm_of(element: etree._Element) -> str:
    return element.get("Algorithm") or ""


def _base64(element: etree._Element) -> bytes:
    text = "".join((element.text or "").split())
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise _failed("base64", f"{_name(element)} is not valid base64", element) from None


def _check_document(root: etree._Element) -> None:
    """Refuse what C14N would not sign as the reader reads it (see the module docstring)."""
    if root.getroottree().getroot() is not root:
        raise _failed("not-document-root", "only a whole document (its root element) is signed")
    _check_no_xml_attributes(root)
    for node in root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity):
        parent = node.getparent()
        raise _failed(
            "comment-in-document",
            "comments, processing instructions and entity references are not allowed inside"
            " a signed message (they are not covered by the signature)",
            parent if parent is not None else root,
        )


def _check_no_xml_attributes(element: etree._Element) -> None:
    for name in element.attrib:
        if str(name).startswith(f"{{{_XML_NS}}}"):
            raise _failed(
                "xml-attribute",
                f"xml:{etree.QName(name).localname} is not allowed on {_name(element)}",
                element,
            )


def _document_digest(
    root: etree._Element, signature: etree._Element, algorithm: _Algorithm
) -> bytes:
    """hash(C14N(document without the Signature element)); the tree is left exactly as it was."""
    parent = root
    index = parent.index(signature)
    previous = signature.getprevious()
    tail = signature.tail
    saved = previous.tail if previous is not None else parent.text
    if tail:
        # lxml moves an element's tail along with it; the transform keeps that text node
        if previous is not None:
            previous.tail = (saved or "") + tail
        else:
            parent.text = (saved or "") + tail
    parent.remove(signature)
    try:
        canonical = etree.tostring(root.getroottree(), method="c14n")
    finally:
        if previous is not None:
            previous.tail = saved
        else:
            parent.text = saved
        parent.insert(index, signature)
        signature.tail = tail
    return algorithm.digest(canonical)


# --- signing ----------------------------------------------------------------------------------


def sign_enveloped(
    root: etree._Element,
    *,
    private_key: Any,
    certificate_der: bytes,
    algorithm: str,
    key_name: str | None = None,
    before: str | None = None,
) -> None:
    """Sign a whole message in place, adding the Signature as its last child (or before `before`).

    `private_key` is a `cryptography` RSA key for RSA-SHA1/RSA-SHA256 or a tongsuopy SM2 key for
    SM2-SM3; `before` is a Clark tag (e.g. `{http://www.chinaport.gov.cn/ceb}ExtendMessage`, which
    the EXPORT XSD puts after the Signature); when the root has no such child the Signature goes
    last.
    """
    chosen = _ALGORITHMS.get(algorithm)
    if chosen is None:
        raise _failed("algorithm-unsupported", f"signature method {algorithm!r} is not supported")
    if next(root.iter(_SIGNATURE), None) is not None:
        raise _failed("signature-duplicate", "the message is signed already", root)
    _check_document(root)
    _check_key(chosen, private_key)
    try:
        loaded = _load_certificate(certificate_der)
    except Exception as exc:
        raise _failed("certificate-unreadable", f"unusable certificate ({exc})") from exc
    if loaded.key_type != chosen.key_type:
        raise _failed(
            "certificate-key-mismatch",
            f"the certificate holds an {loaded.key_type.upper()} key, not one for {algorithm}",
        )

    signature = etree.Element(_SIGNATURE, nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _SIGNED_INFO)
    etree.SubElement(signed_info, _C14N_METHOD, Algorithm=C14N_10)
    etree.SubElement(signed_info, _SIGNATURE_METHOD, Algorithm=chosen.uri)
    reference = etree.SubElement(signed_info, _REFERENCE, URI="")
    transforms = etree.SubElement(reference, _TRANSFORMS)
    etree.SubElement(transforms, _TRANSFORM, Algorithm=ENVELOPED_SIGNATURE)
    etree.SubElement(reference, _DIGEST_METHOD, Algorithm=chosen.digest_uri)
    digest_value = etree.SubElement(reference, _DIGEST_VALUE)
    signature_value = etree.SubElement(signature, _SIGNATURE_VALUE)
    key_info = etree.SubElement(signature, _KEY_INFO)
    if key_name is not None:
        etree.SubElement(key_info, _KEY_NAME).text = key_name
    x509_data = etree.SubElement(key_info, _X509_DATA)
    etree.SubElement(x509_data, _X509_CERTIFICATE).text = base64.b64encode(certificate_der).decode(
        "ascii"
    )

    last = root[-1] if len(root) else None
    last_tail = last.tail if last is not None else None
    _insert(root, signature, before)
    try:
        digest_value.text = base64.b64encode(_document_digest(root, signature, chosen)).decode()
        value = _sign(chosen, private_key, etree.tostring(signed_info, method="c14n"))
    except Exception as exc:
        root.remove(signature)
        if last is not None:
            last.tail = last_tail
        if isinstance(exc, SignatureError):
            raise
        raise _failed("signing-failed", f"signing failed ({type(exc).__name__})") from exc
    signature_value.text = base64.b64encode(value).decode("ascii")


def _insert(root: etree._Element, signature: etree._Element, before: str | None) -> None:
    """Insert keeping the surrounding indentation, if any (only the last child's tail moves)."""
    children = list(root)
    index = next(
        (i for i, child in enumerate(children) if before is not None and child.tag == before),
        None,
    )
    if index is None:
        if children:
            signature.tail = children[-1].tail
            children[-1].tail = root.text
        root.append(signature)
        return
    signature.tail = children[index - 1].tail if index > 0 else root.text
    root.insert(index, signature)


def _check_key(algorithm: _Algorithm, private_key: Any) -> None:
    if algorithm.key_type == "rsa":
        ok = isinstance(private_key, rsa.RSAPrivateKey)
    else:
        ok = isinstance(private_key, sm_ec.EllipticCurvePrivateKey) and isinstance(
            private_key.curve, sm_ec.SM2
        )
    if not ok:
        raise _failed(
            "private-key-mismatch", f"the private key is not a {algorithm.key_type.upper()} key"
        )


def _sign(algorithm: _Algorithm, private_key: Any, data: bytes) -> bytes:
    if algorithm.key_type == "rsa":
        assert algorithm.rsa_hash is not None
        return bytes(private_key.sign(data, padding.PKCS1v15(), algorithm.rsa_hash()))
    r, s = decode_dss_signature(bytes(private_key.sign(data, sm_ec.ECDSA(sm_hashes.SM3()))))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --- keys for tests and the CLI ----------------------------------------------------------------


def generate_test_identity(algorithm: str, common_name: str) -> tuple[Any, bytes]:
    """A fresh private key and a self-signed certificate (DER) for it, for tests and demos.

    RSA-SHA1/RSA-SHA256: RSA 2048 and a SHA-256 certificate from `cryptography`. SM2-SM3: an SM2
    key from tongsuopy and an X.509 v3 certificate (no extensions) assembled here and signed
    SM2-with-SM3 (Z value with the default user id), since tongsuopy cannot build certificates.
    """
    chosen = _ALGORITHMS.get(algorithm)
    if chosen is None:
        raise _failed("algorithm-unsupported", f"signature method {algorithm!r} is not supported")
    now = datetime.now(UTC).replace(microsecond=0)
    not_before, not_after = now - timedelta(days=1), now + timedelta(days=730)
    if chosen.key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .sign(key, hashes.SHA256())
        )
        return key, certificate.public_bytes(cserialization.Encoding.DER)
    sm2_key = sm_ec.generate_private_key(sm_ec.SM2())
    spki = bytes(
        sm2_key.public_key().public_bytes(
            sm_serialization.Encoding.DER, sm_serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    name_der = _der(
        0x30,
        _der(0x31, _der(0x30, _oid(_COMMON_NAME_OID) + _der(0x0C, common_name.encode()))),
    )
    algorithm_id = _der(0x30, _oid(_SM2_WITH_SM3_OID))
    tbs = _der(
        0x30,
        _der(0xA0, _der(0x02, b"\x02"))  # v3
        + _der(0x02, b"\x01" + secrets.token_bytes(15))
        + algorithm_id
        + name_der
        + _der(0x30, _time(not_before) + _time(not_after))
        + name_der
        + spki,
    )
    signature = bytes(sm2_key.sign(tbs, sm_ec.ECDSA(sm_hashes.SM3())))
    return sm2_key, _der(0x30, tbs + algorithm_id + _der(0x03, b"\x00" + signature))


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


def _time(moment: datetime) -> bytes:
    if moment.year < 2050:
        return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return _der(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def private_key_to_pem(private_key: Any) -> bytes:
    """An RSA or SM2 private key as unencrypted PKCS#8 PEM."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.private_bytes(
            cserialization.Encoding.PEM,
            cserialization.PrivateFormat.PKCS8,
            cserialization.NoEncryption(),
        )
    if isinstance(private_key, sm_ec.EllipticCurvePrivateKey):
        return bytes(
            private_key.private_bytes(
                sm_serialization.Encoding.PEM,
                sm_serialization.PrivateFormat.PKCS8,
                sm_serialization.NoEncryption(),
            )
        )
    raise _failed("private-key-mismatch", "only RSA and SM2 private keys are supported")


def load_private_key_pem(data: bytes, password: bytes | None = None) -> Any:
    """An RSA (cryptography) or SM2 (tongsuopy) private key from PKCS#8/traditional PEM."""
    try:
        key = cserialization.load_pem_private_key(data, password)
    except Exception:  # an SM2 key is "unsupported" to cryptography: try Tongsuo
        try:
            sm2_key = sm_serialization.load_pem_private_key(data, password)
        except Exception as exc:
            raise _failed("private-key-unreadable", "not an RSA or SM2 private key in PEM") from exc
        if isinstance(sm2_key, sm_ec.EllipticCurvePrivateKey) and isinstance(
            sm2_key.curve, sm_ec.SM2
        ):
            return sm2_key
        raise _failed("private-key-unreadable", "not an RSA or SM2 private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _failed("private-key-unreadable", "not an RSA or SM2 private key")
    return key


# --- paths for field errors --------------------------------------------------------------------

_PREFIXES = {namespace: prefix for prefix, namespace in NSMAP.items()}


def _name(element: etree._Element) -> str:
    qname = etree.QName(element)
    prefix = _PREFIXES.get(qname.namespace or "")
    return f"{prefix}:{qname.localname}" if prefix else str(qname.localname)


def _path(element: etree._Element) -> str:
    names: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        names.append(_name(node))
        node = node.getparent()
    return "/" + "/".join(reversed(names))
