"""Safe parsing of untrusted XML: size cap, no DTD, no entities, no network, depth cap."""

from __future__ import annotations

import re

from lxml import etree

from customs.domain.errors import FieldError, MessageFormatError, MessageTooLarge

MAX_BODY_BYTES = 10 * 1024 * 1024  # 100 orders of 99 lines fit in well under 5 MiB
MAX_DEPTH = 32  # CEB messages nest 6 deep; ExtendMessage payloads get some room

_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        # C14N without comments ignores them too: what is read is exactly what is signed
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


_PARSER = _parser()


def too_large(
    size: int | None = None, *, path: str = "/", line: int | None = None, what: str = "body is"
) -> MessageTooLarge:
    """The refusal of content over the cap (`size` when known: it was read whole)."""
    seen = f"{what} {size} bytes; " if size is not None else ""
    return MessageTooLarge(
        code="0001",
        title="Message body too large",
        errors=(
            FieldError(
                path=path,
                rule="max-body-size",
                line=line,
                message=f"{seen}at most {MAX_BODY_BYTES} bytes are accepted",
            ),
        ),
    )


def parse_untrusted(body: bytes) -> etree._Element:
    """Parse a message body, refusing what could make parsing costly or reach outside."""
    if len(body) > MAX_BODY_BYTES:
        raise too_large(len(body))
    if not body.strip():
        raise MessageFormatError(
            code="0001",
            title="Message is not well-formed XML",
            errors=(FieldError(path="/", rule="well-formed", message="the body is empty"),),
        )
    match = _FORBIDDEN.search(body)
    if match:
        raise MessageFormatError(
            code="0001",
            title="Message is not well-formed XML",
            errors=(
                FieldError(
                    path="/",
                    rule="no-dtd",
                    line=body.count(b"\n", 0, match.start()) + 1,
                    message="DOCTYPE and ENTITY declarations are not allowed in CEB messages",
                ),
            ),
        )
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        line: int | None = exc.lineno if isinstance(exc.lineno, int) else None
        raise MessageFormatError(
            code="0001",
            title="Message is not well-formed XML",
            errors=(FieldError(path="/", rule="well-formed", line=line, message=str(exc.msg)),),
        ) from None
    if _TOO_DEEP(root):  # in C; the exact depth is counted only for the refusal
        depth = _depth(root)
        raise MessageFormatError(
            code="0001",
            title="Message nests too deeply",
            errors=(
                FieldError(
                    path="/",
                    rule="max-depth",
                    message=f"elements nest {depth} deep; at most {MAX_DEPTH} are allowed",
                ),
            ),
        )
    return root


# True when an element sits below MAX_DEPTH levels (the root is level 1).
_TOO_DEEP = etree.XPath("boolean(" + "/".join(["*"] * MAX_DEPTH) + ")")


def _depth(root: etree._Element) -> int:
    """The nesting depth, stopping early once it passes MAX_DEPTH (libxml2 itself stops at 256)."""
    depth = deepest = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                break
    return deepest
