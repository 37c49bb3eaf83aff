"""Enveloped XML-DSig of CEB messages: RSA-SHA1, RSA-SHA256 and SM2-SM3, and the attacks on it."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from customs.ceb import signature as sig
from customs.ceb.schema import CEB_NS, DS_NS
from customs.domain.errors import FieldError
from tests.support import SAMPLES

ALGORITHMS = [sig.RSA_SHA1, sig.RSA_SHA256, sig.SM2_SM3]
IDS = ["rsa-sha1", "rsa-sha256", "sm2-sm3"]

CEB = f"{{{CEB_NS}}}"
DS = f"{{{DS_NS}}}"
SAFE = etree.XMLParser(
    remove_comments=True, remove_pis=True, resolve_entities=False, no_network=True
)
KEEPS_COMMENTS = etree.XMLParser(resolve_entities=False, no_network=True)

SIGNED_SAMPLES = sorted(
    path.relative_to(SAMPLES).as_posix()
    for path in SAMPLES.glob("*/*.xml")
    if b"<ds:Signature" in path.read_bytes()
)


@functools.cache
def identity(algorithm: str) -> tuple[Any, bytes]:
    return sig.generate_test_identity(algorithm, "测试企业 Test Enterprise")


def parse(body: bytes, parser: etree.XMLParser = SAFE) -> etree._Element:
    return etree.fromstring(body, parser)


def unsigned(sample: str = "import/CEB311Message.xml") -> etree._Element:
    """An official sample with its placeholder Signature removed."""
    root = parse((SAMPLES / sample).read_bytes())
    for old in root.findall(f"{DS}Signature"):
        root.remove(old)
    return root


def sign(root: etree._Element, algorithm: str, **options: Any) -> bytes:
    key, certificate = identity(algorithm)
    sig.sign_enveloped(
        root, private_key=key, certificate_der=certificate, algorithm=algorithm, **options
    )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def signed(algorithm: str, sample: str = "import/CEB311Message.xml") -> etree._Element:
    """A freshly signed, serialised and re-parsed sample, as a receiver would get it."""
    return parse(sign(unsigned(sample), algorithm))


def verify(root: etree._Element, allowed=sig.ALL_ALGORITHMS) -> sig.VerifiedSignature:
    return sig.verify_enveloped(root, allowed_algorithms=allowed)


def refusal(root: etree._Element, allowed=sig.ALL_ALGORITHMS) -> sig.SignatureError:
    with pytest.raises(sig.SignatureError) as caught:
        verify(root, allowed)
    return caught.value


def signature_of(root: etree._Element) -> etree._Element:
    found = root.find(f"{DS}Signature")
    assert found is not None
    return found


def resign(root: etree._Element, algorithm: str) -> None:
    """Sign SignedInfo again after a test changed it, so only the profile check can object."""
    key, _certificate = identity(algorithm)
    signature = signature_of(root)
    data = etree.tostring(signature.find(f"{DS}SignedInfo"), method="c14n")
    if algorithm == sig.SM2_SM3:
        r, s = decode_dss_signature(key.sign(data, sm_ec.ECDSA(sm_hashes.SM3())))
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashes.SHA1() if algorithm == sig.RSA_SHA1 else hashes.SHA256()
        value = key.sign(data, padding.PKCS1v15(), digest)
    signature.find(f"{DS}SignatureValue").text = base64.b64encode(value).decode()


def first_order_no(root: etree._Element) -> str | None:
    return root.findtext(f"{CEB}Order/{CEB}OrderHead/{CEB}orderNo")


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", ["import/CEB311Message.xml", "import/CEB621Message.xml"])
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_signed_official_sample_verifies_and_returns_the_tree_it_verified(algorithm, sample):
    root = signed(algorithm, sample)
    before = etree.tostring(root)

    result = verify(root)

    assert result.root is root
    assert etree.tostring(root) == before  # the Signature was put back exactly
    assert result.algorithm == algorithm
    assert result.certificate_der == identity(algorithm)[1]
    assert result.certificate_sha256 == hashlib.sha256(identity(algorithm)[1]).hexdigest()
    assert result.key_name is None
    assert signature_of(root).getparent() is root
    assert root[-1] is signature_of(root)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_the_key_name_is_written_and_returned(algorithm):
    root = parse(sign(unsigned(), algorithm, key_name="03000000000cde6f"))
    assert verify(root).key_name == "03000000000cde6f"


def test_an_sm2_signature_value_is_64_raw_bytes_like_the_spec_samples():
    root = signed(sig.SM2_SM3)
    text = signature_of(root).findtext(f"{DS}SignatureValue")
    assert len(text) == 88
    assert len(base64.b64decode(text)) == 64


def test_an_sm2_signature_value_in_der_is_accepted_too():
    root = signed(sig.SM2_SM3)
    value = signature_of(root).find(f"{DS}SignatureValue")
    raw = base64.b64decode(value.text)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    value.text = base64.b64encode(der).decode()
    assert verify(root).algorithm == sig.SM2_SM3


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_the_signature_can_be_put_before_an_element_such_as_extend_message(algorithm):
    root = unsigned()
    extend = etree.SubElement(root, f"{CEB}ExtendMessage")
    etree.SubElement(extend, f"{CEB}name").text = "x"
    root = parse(sign(root, algorithm, before=f"{CEB}ExtendMessage"))

    assert signature_of(root).getnext().tag == f"{CEB}ExtendMessage"
    assert verify(root).root is root


def test_signing_without_the_before_element_present_puts_the_signature_last():
    root = parse(sign(unsigned(), sig.RSA_SHA256, before=f"{CEB}ExtendMessage"))
    assert root[-1].tag == f"{DS}Signature"
    verify(root)


def test_whitespace_after_the_signature_is_signed_as_part_of_the_document():
    root = signed(sig.RSA_SHA256)
    signature_of(root).tail = "\n\n   \n"
    assert refusal(root).outcome is sig.SignatureOutcome.DATA_MISMATCH


def test_the_same_certificate_is_parsed_once_and_reused():
    assert verify(signed(sig.SM2_SM3)).certificate is verify(signed(sig.SM2_SM3)).certificate


# --- tampering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_changed_business_value_is_refused_with_621028(algorithm):
    root = signed(algorithm)
    root.find(f"{CEB}Order/{CEB}OrderHead/{CEB}goodsValue").text = "1"
    before = etree.tostring(root)

    error = refusal(root)

    assert (error.code, error.rule, error.outcome) == (
        -621028,
        "digest-mismatch",
        sig.SignatureOutcome.DATA_MISMATCH,
    )
    assert etree.tostring(root) == before  # the tree is restored after a failure too
    assert error.field_error() == FieldError(
        path="/ceb:CEB311Message/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue",
        rule="digest-mismatch",
        message=error.message,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_changed_signature_value_is_refused_with_621029(algorithm):
    root = signed(algorithm)
    value = signature_of(root).find(f"{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()

    error = refusal(root)

    assert (error.code, error.rule, error.outcome) == (
        -621029,
        "signature-invalid",
        sig.SignatureOutcome.VERIFY_FAILED,
    )
    assert error.field_error().path.endswith("/ds:Signature/ds:SignatureValue")


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_changed_signed_info_is_refused_with_621029(algorithm):
    root = signed(algorithm)
    signature_of(root).find(f"{DS}SignedInfo/{DS}Reference").set("Id", "r1")
    assert refusal(root).rule == "signature-invalid"


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_signature_by_another_key_is_refused(algorithm):
    root = signed(algorithm)
    _other_key, other_certificate = sig.generate_test_identity(algorithm, "Someone else")
    signature_of(root).find(f".//{DS}X509Certificate").text = base64.b64encode(
        other_certificate
    ).decode()
    assert refusal(root).rule == "signature-invalid"


# --- the official samples ------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SIGNED_SAMPLES)
def test_the_official_samples_placeholder_signatures_do_not_match_their_data(sample):
    root = parse((SAMPLES / sample).read_bytes())
    error = refusal(root)
    assert (error.code, error.rule) == (-621028, "digest-mismatch")


def test_the_ceb311_sample_signature_is_an_rsa_one_labelled_sm2():
    """Even with a correct digest, its certificate holds an RSA-1024 key, not an SM2 one."""
    root = parse((SAMPLES / "import/CEB311Message.xml").read_bytes())
    signature = signature_of(root)
    certificate = base64.b64decode("".join(signature.findtext(f".//{DS}X509Certificate").split()))
    assert x509.load_der_x509_certificate(certificate).public_key().key_size == 1024
    stripped = copy.deepcopy(root)
    placeholder = stripped.find(f"{DS}Signature")
    placeholder.getprevious().tail += placeholder.tail  # the transform keeps the text after it
    stripped.remove(placeholder)
    digest = hashlib.new("sm3", etree.tostring(stripped.getroottree(), method="c14n")).digest()
    signature.find(f".//{DS}DigestValue").text = base64.b64encode(digest).decode()

    error = refusal(root)

    assert (error.code, error.rule) == (-621029, "certificate-key-mismatch")


def test_the_sample_signature_method_can_be_refused_by_the_allow_list_first():
    root = parse((SAMPLES / "import/CEB621Message.xml").read_bytes())
    error = refusal(root, allowed={sig.RSA_SHA1})
    assert (error.code, error.rule) == (-621029, "algorithm-not-allowed")


# --- the profile: one Signature, in one place, of one shape --------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_two_signatures_are_refused(algorithm):
    root = signed(algorithm)
    root.append(copy.deepcopy(signature_of(root)))
    assert refusal(root).rule == "signature-duplicate"


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_signature_nested_inside_a_business_element_is_refused(algorithm):
    root = signed(algorithm)
    root.find(f"{CEB}Order").append(signature_of(root))
    error = refusal(root)
    assert (error.code, error.rule) == (-621029, "signature-position")
    assert error.field_error().path == "/ceb:CEB311Message/ceb:Order/ds:Signature"


def test_a_message_without_a_signature_is_refused():
    assert refusal(unsigned()).rule == "signature-missing"


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_reference_to_an_id_is_refused_even_when_signed(algorithm):
    root = signed(algorithm)
    signature_of(root).find(f".//{DS}Reference").set("URI", "#x")
    resign(root, algorithm)
    assert refusal(root).rule == "reference-uri"


def test_a_reference_without_a_uri_is_refused():
    root = signed(sig.RSA_SHA256)
    del signature_of(root).find(f".//{DS}Reference").attrib["URI"]
    resign(root, sig.RSA_SHA256)
    assert refusal(root).rule == "reference-uri"


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_an_extra_xpath_transform_is_refused_even_when_signed(algorithm):
    root = signed(algorithm)
    transforms = signature_of(root).find(f".//{DS}Transforms")
    xpath = etree.SubElement(
        transforms, f"{DS}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    etree.SubElement(xpath, f"{DS}XPath").text = "not(ancestor-or-self::ceb:Order)"
    resign(root, algorithm)
    assert refusal(root).rule == "transform-unsupported"


def test_a_c14n_transform_after_the_enveloped_one_is_accepted():
    root = signed(sig.SM2_SM3)
    transforms = signature_of(root).find(f".//{DS}Transforms")
    etree.SubElement(transforms, f"{DS}Transform", Algorithm=sig.C14N_10)
    resign(root, sig.SM2_SM3)
    assert verify(root).algorithm == sig.SM2_SM3


@pytest.mark.parametrize(
    "algorithms",
    [
        [],
        [sig.C14N_10],
        [sig.C14N_10, sig.ENVELOPED_SIGNATURE],
        [sig.ENVELOPED_SIGNATURE, sig.ENVELOPED_SIGNATURE],
        [sig.ENVELOPED_SIGNATURE, sig.C14N_10 + "#WithComments"],
    ],
)
def test_any_other_transform_list_is_refused(algorithms):
    root = signed(sig.RSA_SHA256)
    transforms = signature_of(root).find(f".//{DS}Transforms")
    for transform in list(transforms):
        transforms.remove(transform)
    for algorithm in algorithms:
        etree.SubElement(transforms, f"{DS}Transform", Algorithm=algorithm)
    resign(root, sig.RSA_SHA256)
    assert refusal(root).rule == "transform-unsupported"


def test_canonicalisation_with_comments_is_refused():
    root = signed(sig.RSA_SHA256)
    method = signature_of(root).find(f".//{DS}CanonicalizationMethod")
    method.set("Algorithm", sig.C14N_10 + "#WithComments")
    assert refusal(root).rule == "c14n-unsupported"


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_an_algorithm_not_on_the_senders_allow_list_is_refused(algorithm):
    root = signed(algorithm)
    error = refusal(root, allowed=sig.ALL_ALGORITHMS - {algorithm})
    assert (error.code, error.rule) == (-621029, "algorithm-not-allowed")
    assert error.field_error().path.endswith("/ds:SignedInfo/ds:SignatureMethod")


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "http://www.w3.org/2000/09/xmldsig#sm2-sm3",  # the unofficial URI one library uses
    ],
)
def test_an_unknown_signature_method_is_refused(uri):
    root = signed(sig.RSA_SHA256)
    signature_of(root).find(f".//{DS}SignatureMethod").set("Algorithm", uri)
    assert refusal(root, allowed={uri, *sig.ALL_ALGORITHMS}).rule == "algorithm-unsupported"


def test_a_digest_method_that_does_not_go_with_the_signature_method_is_refused():
    root = signed(sig.RSA_SHA256)
    method = signature_of(root).find(f".//{DS}DigestMethod")
    method.set("Algorithm", sig.SHA1_DIGEST)
    resign(root, sig.RSA_SHA256)
    assert refusal(root).rule == "digest-method-mismatch"


@pytest.mark.parametrize(
    ("signature_algorithm", "certificate_algorithm"),
    [(sig.SM2_SM3, sig.RSA_SHA256), (sig.RSA_SHA256, sig.SM2_SM3)],
)
def test_a_certificate_of_the_wrong_key_type_is_refused(signature_algorithm, certificate_algorithm):
    root = signed(signature_algorithm)
    signature_of(root).find(f".//{DS}X509Certificate").text = base64.b64encode(
        identity(certificate_algorithm)[1]
    ).decode()
    assert refusal(root).rule == "certificate-key-mismatch"


def mangle_digest_base64(signature):
    signature.find(f".//{DS}DigestValue").text = "not base64!"


def mangle_signature_base64(signature):
    signature.find(f"{DS}SignatureValue").text = "%%%"


def empty_signature_value(signature):
    signature.find(f"{DS}SignatureValue").text = None


def short_sm2_value(signature):
    signature.find(f"{DS}SignatureValue").text = base64.b64encode(b"\x01" * 63).decode()


def zero_sm2_value(signature):
    signature.find(f"{DS}SignatureValue").text = base64.b64encode(b"\x00" * 64).decode()


def junk_certificate(signature):
    signature.find(f".//{DS}X509Certificate").text = base64.b64encode(b"\x30\x03junk").decode()


def no_key_info(signature):
    signature.remove(signature.find(f"{DS}KeyInfo"))


def two_certificates(signature):
    data = signature.find(f".//{DS}X509Data")
    data.append(copy.deepcopy(data[0]))


def issuer_serial_instead(signature):
    data = signature.find(f".//{DS}X509Data")
    data.remove(data[0])
    etree.SubElement(data, f"{DS}X509IssuerSerial")


def an_object(signature):
    etree.SubElement(signature, f"{DS}Object").text = "x"


def text_in_signed_info(signature):
    signature.find(f"{DS}SignedInfo").text = "hello"


def two_references(signature):
    signed_info = signature.find(f"{DS}SignedInfo")
    signed_info.append(copy.deepcopy(signed_info.find(f"{DS}Reference")))


def hmac_length(signature):
    method = signature.find(f".//{DS}SignatureMethod")
    etree.SubElement(method, f"{DS}HMACOutputLength").text = "8"


@pytest.mark.parametrize(
    ("mangle", "rule"),
    [
        (mangle_digest_base64, "base64"),
        (mangle_signature_base64, "base64"),
        (empty_signature_value, "signature-value-empty"),
        (short_sm2_value, "signature-invalid"),
        (zero_sm2_value, "signature-invalid"),
        (junk_certificate, "certificate-unreadable"),
        (no_key_info, "signature-malformed"),
        (two_certificates, "key-info-unexpected"),
        (issuer_serial_instead, "key-info-unexpected"),
        (an_object, "signature-malformed"),
        (text_in_signed_info, "signature-malformed"),
        (two_references, "signature-malformed"),
        (hmac_length, "signature-malformed"),
    ],
)
def test_a_malformed_signature_is_refused_with_621029_and_nothing_else(mangle, rule):
    root = signed(sig.SM2_SM3)
    mangle(signature_of(root))
    error = refusal(root)  # pytest.raises fails on any other exception type
    assert (error.code, error.rule) == (-621029, rule)


def test_xml_attributes_that_c14n_would_inherit_are_refused():
    root = signed(sig.RSA_SHA256)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "zh")
    assert refusal(root).rule == "xml-attribute"


def test_only_a_whole_document_is_verified():
    outer = etree.Element("outer")
    outer.append(signed(sig.RSA_SHA256))
    assert refusal(outer[0]).rule == "not-document-root"


# --- comments and wrapping -----------------------------------------------------------------------


def signed_order(algorithm: str, order_no: str) -> bytes:
    root = unsigned()
    for order in root.findall(f"{CEB}Order")[1:]:
        root.remove(order)
    root.find(f"{CEB}Order/{CEB}OrderHead/{CEB}orderNo").text = order_no
    return sign(root, algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_comment_slipped_into_a_signed_value_verifies_and_reads_as_what_was_signed(algorithm):
    body = signed_order(algorithm, "AB").replace(b">AB<", b">A<!--x-->B<")
    assert b"A<!--x-->B" in body

    root = parse(body, SAFE)

    assert verify(root).root is root
    assert first_order_no(root) == "AB"


def test_a_tree_that_kept_a_comment_is_refused_as_its_text_would_read_differently():
    body = signed_order(sig.SM2_SM3, "AB").replace(b">AB<", b">A<!--x-->B<")
    root = parse(body, KEEPS_COMMENTS)
    assert first_order_no(root) == "A"  # what C14N does not sign

    error = refusal(root)

    assert (error.code, error.rule) == (-621029, "comment-in-document")
    assert error.field_error().path == "/ceb:CEB311Message/ceb:Order/ceb:OrderHead/ceb:orderNo"


def test_a_processing_instruction_kept_in_the_tree_is_refused():
    body = signed_order(sig.RSA_SHA256, "AB").replace(b">AB<", b">A<?pi x?>B<")
    assert refusal(parse(body, KEEPS_COMMENTS)).rule == "comment-in-document"


def forged_order(original: etree._Element) -> etree._Element:
    forged = copy.deepcopy(original)
    forged.find(f"{CEB}OrderHead/{CEB}goodsValue").text = "1"
    forged.find(f"{CEB}OrderHead/{CEB}orderNo").text = "FORGED"
    return forged


def move_into_object(root, signature, original):
    etree.SubElement(signature, f"{DS}Object").append(original)


def move_into_key_info(root, signature, original):
    signature.find(f"{DS}KeyInfo").append(original)


def move_into_x509_data(root, signature, original):
    signature.find(f".//{DS}X509Data").append(original)


def move_after_the_signature(root, signature, original):
    root.append(original)


def move_into_an_extension(root, signature, original):
    etree.SubElement(root, f"{CEB}ExtendMessage").append(original)


@pytest.mark.parametrize(
    ("move", "outcome", "rule"),
    [
        (move_into_object, sig.SignatureOutcome.VERIFY_FAILED, "signature-malformed"),
        (move_into_key_info, sig.SignatureOutcome.VERIFY_FAILED, "key-info-unexpected"),
        (move_into_x509_data, sig.SignatureOutcome.VERIFY_FAILED, "key-info-unexpected"),
        (move_after_the_signature, sig.SignatureOutcome.DATA_MISMATCH, "digest-mismatch"),
        (move_into_an_extension, sig.SignatureOutcome.DATA_MISMATCH, "digest-mismatch"),
    ],
)
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_signed_order_moved_aside_for_a_forged_one_is_refused(algorithm, move, outcome, rule):
    root = parse(signed_order(algorithm, "ORIGINAL"))
    signature = signature_of(root)
    original = root.find(f"{CEB}Order")
    original.addprevious(forged_order(original))
    move(root, signature, original)
    assert first_order_no(root) == "FORGED"

    error = refusal(root)

    assert (error.outcome, error.rule) == (outcome, rule)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_second_order_slipped_in_is_refused_with_621028(algorithm):
    root = parse(signed_order(algorithm, "ORIGINAL"))
    original = root.find(f"{CEB}Order")
    original.addnext(forged_order(original))
    assert refusal(root).code == -621028


# --- signing -------------------------------------------------------------------------------------


def test_signing_an_already_signed_message_is_refused():
    root = signed(sig.RSA_SHA256)
    key, certificate = identity(sig.RSA_SHA256)
    with pytest.raises(sig.SignatureError) as caught:
        sig.sign_enveloped(
            root, private_key=key, certificate_der=certificate, algorithm=sig.RSA_SHA256
        )
    assert caught.value.rule == "signature-duplicate"


def test_signing_a_tree_with_comments_is_refused():
    root = parse(b"<a><b>x<!--c-->y</b></a>", KEEPS_COMMENTS)
    key, certificate = identity(sig.SM2_SM3)
    with pytest.raises(sig.SignatureError) as caught:
        sig.sign_enveloped(
            root, private_key=key, certificate_der=certificate, algorithm=sig.SM2_SM3
        )
    assert caught.value.rule == "comment-in-document"


@pytest.mark.parametrize(
    ("key_algorithm", "certificate_algorithm", "rule"),
    [
        (sig.RSA_SHA256, sig.SM2_SM3, "private-key-mismatch"),
        (sig.SM2_SM3, sig.RSA_SHA1, "private-key-mismatch"),
    ],
)
def test_signing_with_a_key_of_the_wrong_type_is_refused(
    key_algorithm, certificate_algorithm, rule
):
    root = unsigned()
    with pytest.raises(sig.SignatureError) as caught:
        sig.sign_enveloped(
            root,
            private_key=identity(key_algorithm)[0],
            certificate_der=identity(certificate_algorithm)[1],
            algorithm=certificate_algorithm,
        )
    assert caught.value.rule == rule
    assert root.find(f"{DS}Signature") is None


def test_signing_with_a_certificate_of_the_wrong_type_is_refused_and_leaves_no_trace():
    root = unsigned()
    before = etree.tostring(root)
    with pytest.raises(sig.SignatureError) as caught:
        sig.sign_enveloped(
            root,
            private_key=identity(sig.SM2_SM3)[0],
            certificate_der=identity(sig.RSA_SHA256)[1],
            algorithm=sig.SM2_SM3,
        )
    assert caught.value.rule == "certificate-key-mismatch"
    assert etree.tostring(root) == before


def test_signing_with_an_unknown_algorithm_is_refused():
    with pytest.raises(sig.SignatureError) as caught:
        sig.sign_enveloped(
            unsigned(),
            private_key=identity(sig.RSA_SHA256)[0],
            certificate_der=identity(sig.RSA_SHA256)[1],
            algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-md5",
        )
    assert caught.value.rule == "algorithm-unsupported"


# --- keys and errors -----------------------------------------------------------------------------


def test_the_sm2_test_certificate_is_self_signed_with_sm2_and_sm3():
    key, der = identity(sig.SM2_SM3)
    certificate = x509.load_der_x509_certificate(der)
    assert certificate.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    assert certificate.version is x509.Version.v3
    key.public_key().verify(
        certificate.signature, certificate.tbs_certificate_bytes, sm_ec.ECDSA(sm_hashes.SM3())
    )
    spki = key.public_key().public_bytes(
        sm_serialization.Encoding.DER, sm_serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki in der


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=IDS)
def test_a_private_key_survives_a_pem_round_trip(algorithm):
    key, certificate = identity(algorithm)
    loaded = sig.load_private_key_pem(sig.private_key_to_pem(key))
    root = unsigned()
    sig.sign_enveloped(root, private_key=loaded, certificate_der=certificate, algorithm=algorithm)
    verify(parse(etree.tostring(root)))


def test_junk_is_not_a_private_key():
    with pytest.raises(sig.SignatureError) as caught:
        sig.load_private_key_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert caught.value.rule == "private-key-unreadable"


def test_the_two_outcomes_default_to_the_inventory_codes():
    assert sig.DEFAULT_CODES == {
        sig.SignatureOutcome.DATA_MISMATCH: -621028,
        sig.SignatureOutcome.VERIFY_FAILED: -621029,
    }
    error = sig.SignatureError(sig.SignatureOutcome.VERIFY_FAILED, "signature-invalid", "bad")
    assert str(error) == "-621029 signature-invalid: bad"
    assert error.field_error() == FieldError(path="/", rule="signature-invalid", message="bad")


def test_the_spec_algorithms_are_sm2_and_rsa_sha1():
    assert {sig.SM2_SM3, sig.RSA_SHA1} == sig.SPEC_ALGORITHMS
    assert sig.SM2_USER_ID == b"1234567812345678"
