"""`clearway keygen` and `clearway sign`: test identities; messages signed where the XSD wants."""

from __future__ import annotations

import argparse
import functools
import ssl
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from clearway.sign_cli import add_commands
from customs.ceb import signature as sig
from customs.ceb.parsing import parse_untrusted
from customs.ceb.schema import CEB_NS, DS_NS, validate_against_xsd
from tests.support import SAMPLES

pytestmark = pytest.mark.filterwarnings("error")

IMPORT_621 = SAMPLES / "import" / "CEB621Message.xml"
EXPORT_701 = SAMPLES / "export" / "CEB701Message.xml"
DS_SIGNATURE = f"{{{DS_NS}}}Signature"
EXTEND_MESSAGE = f"{{{CEB_NS}}}ExtendMessage"
URIS = {"sm2-sm3": sig.SM2_SM3, "rsa-sha256": sig.RSA_SHA256, "rsa-sha1": sig.RSA_SHA1}


def clearway(*argv: str | Path) -> int:
    """Run a subcommand through a parser built the way `clearway.cli.main` builds it."""
    parser = argparse.ArgumentParser(prog="clearway")
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    args = parser.parse_args([str(arg) for arg in argv])
    return int(args.func(args))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Key folders made by `clearway keygen`, one per algorithm, shared by the module."""
    root = tmp_path_factory.mktemp("keys")

    @functools.cache
    def key_dir(algorithm: str) -> Path:
        out = root / algorithm
        assert clearway("keygen", "--algorithm", algorithm, "--name", "Test", "--out", out) == 0
        return out

    return key_dir


def signed_root(path: Path) -> etree._Element:
    body = path.read_bytes()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return parse_untrusted(body)


def test_keygen_writes_a_private_key_readable_by_its_owner_only_and_a_certificate(tmp_path, capsys):
    out = tmp_path / "identity"

    assert clearway("keygen", "--algorithm", "sm2-sm3", "--name", "Test", "--out", out) == 0

    key_mode = stat.S_IMODE((out / "key.pem").stat().st_mode)
    assert key_mode == 0o600
    assert (out / "key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    cert_pem = (out / "cert.pem").read_text()
    assert cert_pem.startswith("-----BEGIN CERTIFICATE-----")
    sig.load_private_key_pem((out / "key.pem").read_bytes())
    printed = capsys.readouterr().out
    der = ssl.PEM_cert_to_DER_cert(cert_pem)
    assert sig.certificate_fingerprint(der) in printed
    assert "POST /api/v1/certificates" in printed
    assert sig.SM2_SM3 in printed


def test_keygen_does_not_overwrite_a_key_without_force(tmp_path, capsys):
    out = tmp_path / "identity"
    args = ("keygen", "--algorithm", "rsa-sha256", "--name", "Test", "--out", out)
    assert clearway(*args) == 0
    before = (out / "key.pem").read_bytes()

    assert clearway(*args) == 2
    assert str(out / "key.pem") in capsys.readouterr().err
    assert (out / "key.pem").read_bytes() == before

    assert clearway(*args, "--force") == 0
    assert (out / "key.pem").read_bytes() != before
    assert stat.S_IMODE((out / "key.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("algorithm", sorted(URIS))
def test_a_signed_import_inventory_verifies_and_still_passes_the_xsd(tmp_path, keys, algorithm):
    key_dir = keys(algorithm)
    out = tmp_path / "signed.xml"

    code = clearway(
        "sign", "--key", key_dir / "key.pem", "--cert", key_dir / "cert.pem",
        "--algorithm", algorithm, IMPORT_621, "-o", out,
    )  # fmt: skip

    assert code == 0
    root = signed_root(out)
    verified = sig.verify_enveloped(root, allowed_algorithms=sig.ALL_ALGORITHMS)
    assert verified.algorithm == URIS[algorithm]
    assert validate_against_xsd(parse_untrusted(out.read_bytes())) == "CEB621Message"
    assert root[-1].tag == DS_SIGNATURE  # import messages: the Signature comes last
    assert len(root.findall(DS_SIGNATURE)) == 1  # the sample's placeholder was replaced


def test_the_algorithm_defaults_from_the_key_type(tmp_path, keys):
    for algorithm, expected in (("sm2-sm3", sig.SM2_SM3), ("rsa-sha1", sig.RSA_SHA256)):
        key_dir = keys(algorithm)
        out = tmp_path / f"{algorithm}.xml"
        key, cert = key_dir / "key.pem", key_dir / "cert.pem"

        assert clearway("sign", "--key", key, "--cert", cert, IMPORT_621, "-o", out) == 0

        verified = sig.verify_enveloped(signed_root(out), allowed_algorithms=sig.ALL_ALGORITHMS)
        assert verified.algorithm == expected


def test_a_signed_export_summary_verifies_and_still_passes_the_xsd(tmp_path, keys):
    key_dir = keys("rsa-sha1")
    out = tmp_path / "signed.xml"
    key, cert = key_dir / "key.pem", key_dir / "cert.pem"

    assert clearway("sign", "--key", key, "--cert", cert, EXPORT_701, "-o", out) == 0

    root = signed_root(out)
    sig.verify_enveloped(root, allowed_algorithms=sig.ALL_ALGORITHMS)
    assert validate_against_xsd(parse_untrusted(out.read_bytes())) == "CEB701Message"


def test_an_export_message_is_signed_before_its_extend_message(tmp_path, keys):
    sample = parse_untrusted(EXPORT_701.read_bytes())
    extend = etree.SubElement(sample, EXTEND_MESSAGE)
    etree.SubElement(extend, f"{{{CEB_NS}}}name").text = "note"
    etree.SubElement(extend, f"{{{CEB_NS}}}version").text = "1.0"
    message = etree.SubElement(extend, f"{{{CEB_NS}}}Message")
    etree.SubElement(message, "{urn:example:platform}note").text = "extra"
    unsigned = tmp_path / "CEB701-extended.xml"
    unsigned.write_bytes(etree.tostring(sample, xml_declaration=True, encoding="UTF-8"))
    out = tmp_path / "signed.xml"
    key_dir = keys("sm2-sm3")
    key, cert = key_dir / "key.pem", key_dir / "cert.pem"

    assert clearway("sign", "--key", key, "--cert", cert, unsigned, "-o", out) == 0

    root = signed_root(out)
    assert [child.tag for child in root[-2:]] == [DS_SIGNATURE, EXTEND_MESSAGE]
    sig.verify_enveloped(root, allowed_algorithms=sig.ALL_ALGORITHMS)
    assert validate_against_xsd(parse_untrusted(out.read_bytes())) == "CEB701Message"


def test_without_an_output_file_the_signed_message_goes_to_stdout(keys, capsysbinary):
    key_dir = keys("sm2-sm3")

    code = clearway("sign", "--key", key_dir / "key.pem", "--cert", key_dir / "cert.pem",
                    IMPORT_621)  # fmt: skip

    assert code == 0
    written = capsysbinary.readouterr().out
    sig.verify_enveloped(parse_untrusted(written), allowed_algorithms={sig.SM2_SM3})


def test_a_missing_key_file_exits_with_2_and_names_the_file(tmp_path, keys, capsys):
    missing = tmp_path / "no-such-key.pem"
    cert = keys("sm2-sm3") / "cert.pem"

    assert clearway("sign", "--key", missing, "--cert", cert, IMPORT_621) == 2

    assert str(missing) in capsys.readouterr().err


def test_an_unreadable_certificate_or_message_exits_with_2_and_names_the_file(
    tmp_path, keys, capsys
):
    key = keys("sm2-sm3") / "key.pem"
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")

    assert clearway("sign", "--key", key, "--cert", junk, IMPORT_621) == 2
    assert str(junk) in capsys.readouterr().err

    cert = keys("sm2-sm3") / "cert.pem"
    assert clearway("sign", "--key", key, "--cert", cert, junk) == 2
    assert str(junk) in capsys.readouterr().err


def test_a_certificate_that_is_not_the_keys_is_refused(tmp_path, keys, capsys):
    key = keys("sm2-sm3") / "key.pem"
    other = tmp_path / "other"
    assert clearway("keygen", "--algorithm", "sm2-sm3", "--name", "Other", "--out", other) == 0
    out = tmp_path / "signed.xml"

    assert clearway("sign", "--key", key, "--cert", other / "cert.pem", IMPORT_621, "-o", out) == 2

    assert str(other / "cert.pem") in capsys.readouterr().err
    assert not out.exists()


def test_an_algorithm_that_does_not_fit_the_key_is_refused(keys, capsys):
    key_dir = keys("sm2-sm3")

    code = clearway("sign", "--key", key_dir / "key.pem", "--cert", key_dir / "cert.pem",
                    "--algorithm", "rsa-sha256", IMPORT_621)  # fmt: skip

    assert code == 2
    assert "RSA" in capsys.readouterr().err
