"""`clearway keygen` and `clearway sign`: a test signing identity, and signing CEB messages.

    clearway keygen --algorithm sm2-sm3 --name "Test Enterprise" --out keys/
    clearway sign --key keys/key.pem --cert keys/cert.pem CEB311Message.xml -o signed.xml

`sign` removes any ds:Signature the message carries (e.g. the official samples' placeholder) and
signs it enveloped as the spec says (S2 §6), putting the Signature where the XSD wants it: in
EXPORT messages before `ceb:ExtendMessage` when there is one, in IMPORT messages last. Before
writing, it verifies what it signed, which also catches a certificate that is not the key's.
Problems with the files given exit with code 2 and a message naming the file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SM2_SM3_NAME, RSA_SHA256_NAME, RSA_SHA1_NAME = "sm2-sm3", "rsa-sha256", "rsa-sha1"
ALGORITHM_NAMES = (SM2_SM3_NAME, RSA_SHA256_NAME, RSA_SHA1_NAME)
EXIT_USAGE = 2

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class CommandFailed(Exception):
    """A problem with what the user gave; shown as one line, exit code 2."""


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keygen` and `sign` to the `clearway` command's subparsers (each sets `func`)."""
    keygen_parser = subparsers.add_parser(
        "keygen",
        help="make a test private key and self-signed certificate",
        description="Write DIR/key.pem (private key, mode 0600) and DIR/cert.pem (a self-signed"
        " certificate) for signing test messages. Real certificates come from the E-Port.",
    )
    keygen_parser.add_argument(
        "--algorithm",
        choices=ALGORITHM_NAMES,
        default=SM2_SM3_NAME,
        help="sm2-sm3 (default; the spec's preferred method) makes an SM2 key, rsa-* RSA-2048",
    )
    keygen_parser.add_argument("--name", required=True, help="the certificate's common name")
    keygen_parser.add_argument("--out", required=True, metavar="DIR", help="folder to write to")
    keygen_parser.add_argument(
        "--force", action="store_true", help="overwrite key.pem and cert.pem if they exist"
    )
    keygen_parser.set_defaults(func=keygen)

    sign_parser = subparsers.add_parser(
        "sign",
        help="sign a CEB message (enveloped XML-DSig)",
        description="Sign a CEB data message (e.g. CEB311Message) with an enveloped ds:Signature,"
        " replacing any it carries. Writes UTF-8 XML to OUT, or to standard output.",
    )
    sign_parser.add_argument("--key", required=True, help="private key, PEM (RSA or SM2)")
    sign_parser.add_argument("--cert", required=True, help="the key's certificate, PEM or DER")
    sign_parser.add_argument(
        "--algorithm",
        choices=ALGORITHM_NAMES,
        help="default from the key: SM2 -> sm2-sm3, RSA -> rsa-sha256 (the spec itself lists"
        " only sm2-sm3 and rsa-sha1)",
    )
    sign_parser.add_argument(
        "--key-name", help="ds:KeyName to write (default: the certificate serial number, hex)"
    )
    sign_parser.add_argument("input", metavar="IN.xml", help="the message to sign ('-': stdin)")
    sign_parser.add_argument("-o", "--output", metavar="OUT.xml", help="default: stdout")
    sign_parser.set_defaults(func=sign)


def keygen(args: argparse.Namespace) -> int:
    """Write a fresh key and self-signed certificate; print the fingerprint to register."""
    return _run("keygen", _keygen, args)


def sign(args: argparse.Namespace) -> int:
    """Sign one message; write it to the output file or stdout."""
    return _run("sign", _sign, args)


def _run(command: str, action: Any, args: argparse.Namespace) -> int:
    try:
        action(args)
    except CommandFailed as exc:
        print(f"clearway {command}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    return 0


# --- keygen -----------------------------------------------------------------------------------


def _keygen(args: argparse.Namespace) -> None:
    from customs.ceb.identity import certificate_pem
    from customs.ceb.signature import (
        certificate_fingerprint,
        generate_test_identity,
        private_key_to_pem,
    )

    algorithm = _algorithm_uri(args.algorithm)
    out = Path(args.out)
    key_path, cert_path = out / "key.pem", out / "cert.pem"
    if not args.force:
        for path in (key_path, cert_path):
            if path.exists():
                raise CommandFailed(f"{path} exists already (use --force to overwrite it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandFailed(f"cannot create {out}: {exc.strerror or exc}") from None
    private_key, certificate_der = generate_test_identity(algorithm, args.name)
    _write(key_path, private_key_to_pem(private_key), mode=0o600, replace=args.force)
    _write(cert_path, certificate_pem(certificate_der), mode=0o644, replace=args.force)
    print(f"wrote {key_path} (private key, mode 0600) and {cert_path} ({args.algorithm})")
    print(f"certificate SHA-256 fingerprint: {certificate_fingerprint(certificate_der)}")
    print(
        "register it: POST /api/v1/certificates with"
        ' {"enterpriseCode": "<your code>", "certificate": "<contents of cert.pem>",'
        f' "algorithms": ["{algorithm}"]}}'
    )


def _write(path: Path, data: bytes, *, mode: int, replace: bool) -> None:
    """Write a file created with `mode` (set exactly, whatever the umask or an old file had)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, mode)
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
    except OSError as exc:
        raise CommandFailed(f"cannot write {path}: {exc.strerror or exc}") from None


# --- sign -------------------------------------------------------------------------------------


def _sign(args: argparse.Namespace) -> None:
    from customs.ceb.documents import KINDS
    from customs.ceb.parsing import parse_untrusted
    from customs.ceb.schema import CEB_NS, DS_NS, message_type_of, validate_against_xsd
    from customs.ceb.signature import (
        SignatureError,
        load_certificate,
        load_private_key_pem,
        sign_enveloped,
        verify_enveloped,
    )
    from customs.domain.errors import MessageFormatError

    try:
        private_key = load_private_key_pem(_read(args.key, "key"))
    except SignatureError:
        raise CommandFailed(
            f"{args.key} is not an unencrypted RSA or SM2 private key in PEM"
        ) from None
    certificate_der = _certificate_der(_read(args.cert, "certificate"), args.cert)
    try:
        certificate = load_certificate(certificate_der)
    except ValueError as exc:
        raise CommandFailed(f"{args.cert} is not a usable certificate: {exc}") from None
    algorithm = _algorithm_uri(args.algorithm or _default_algorithm(private_key))

    body = _read(args.input, "message")
    try:
        root = parse_untrusted(body)
        message_type = message_type_of(root)
    except MessageFormatError as exc:
        raise CommandFailed(f"{args.input}: {exc}") from None
    kind = KINDS.get(message_type)
    if kind is None:
        raise CommandFailed(
            f"{args.input} is a {message_type}, not a data message enterprises send (one of "
            + ", ".join(sorted(KINDS))
            + ")"
        )
    for old in list(root.iter(f"{{{DS_NS}}}Signature")):
        _remove(old)
    key_name = args.key_name or _serial_hex(certificate.serial_number)
    before = f"{{{CEB_NS}}}ExtendMessage" if kind.direction == "export" else None
    try:
        sign_enveloped(
            root,
            private_key=private_key,
            certificate_der=certificate_der,
            algorithm=algorithm,
            key_name=key_name,
            before=before,
        )
    except SignatureError as exc:
        raise CommandFailed(f"cannot sign {args.input}: {exc.message}") from None
    try:
        verify_enveloped(root, allowed_algorithms={algorithm})
    except SignatureError as exc:
        raise CommandFailed(
            f"the signature does not verify with {args.cert}; is it the certificate of"
            f" {args.key}? ({exc.message})"
        ) from None
    signed = _XML_DECLARATION + _xml_bytes(root)
    try:
        validate_against_xsd(parse_untrusted(signed))
    except MessageFormatError as exc:  # signed as asked; the sender may still be drafting
        print(f"clearway sign: warning: {args.input} fails the XSD: {exc}", file=sys.stderr)
    if args.output:
        try:
            Path(args.output).write_bytes(signed)
        except OSError as exc:
            raise CommandFailed(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.buffer.write(signed)
        sys.stdout.buffer.flush()


def _xml_bytes(root: Any) -> bytes:
    """The element as UTF-8 XML, without a declaration."""
    from lxml import etree

    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False))


def _remove(element: Any) -> None:
    """Remove an element; the whitespace before it gives way to the whitespace after it."""
    parent = element.getparent()
    previous = element.getprevious()
    tail = element.tail
    before = previous.tail if previous is not None else parent.text
    if tail is not None and (before or "").strip() == "" and tail.strip() == "":
        joined: str | None = tail
    else:
        joined = (before or "") + (tail or "") or None
    if previous is not None:
        previous.tail = joined
    else:
        parent.text = joined
    parent.remove(element)


def _read(path: str, what: str) -> bytes:
    try:
        if path == "-" and what == "message":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandFailed(f"cannot read {what} file {path}: {exc.strerror or exc}") from None


def _certificate_der(data: bytes, path: str) -> bytes:
    """The certificate in a PEM or DER file, or CommandFailed naming the file."""
    from customs.ceb.identity import certificate_der

    try:
        return certificate_der(data)
    except ValueError as exc:
        raise CommandFailed(f"{path}: {exc}") from None


def _default_algorithm(private_key: Any) -> str:
    from customs.ceb.identity import ALGORITHMS_BY_NAME, default_algorithm

    uri = default_algorithm(private_key)
    return next(name for name, value in ALGORITHMS_BY_NAME.items() if value == uri)


def _algorithm_uri(name: str) -> str:
    from customs.ceb.identity import ALGORITHMS_BY_NAME

    return ALGORITHMS_BY_NAME[name]


def _serial_hex(serial: int) -> str:
    """A certificate serial number as the samples' KeyName writes it: lowercase hex, even length."""
    text = format(serial, "x")
    return text.zfill(len(text) + len(text) % 2)
