"""Document kinds of the CEB message set and the extraction of each document from a message."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from customs.ceb.schema import CEB_NS, source_line
from customs.domain.errors import FieldError, UnsupportedMessage


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """How one kind of business document sits in its message and is answered by a receipt."""

    message_type: str
    body_element: str
    head_element: str
    key_field: str
    receipt_message: str
    receipt_element: str
    receipt_keys: tuple[str, ...]
    line_element: str | None = None


ORDER = DocumentKind(
    message_type="CEB311Message",
    body_element="Order",
    head_element="OrderHead",
    line_element="OrderList",
    key_field="orderNo",
    receipt_message="CEB312Message",
    receipt_element="OrderReturn",
    receipt_keys=("ebpCode", "ebcCode", "orderNo"),
)

KINDS: dict[str, DocumentKind] = {kind.message_type: kind for kind in (ORDER,)}


@dataclass(frozen=True, slots=True)
class ExtractedDocument:
    """One business document of a message, as the sender declared it (XSD-valid already)."""

    index: int
    business_key: str
    head: dict[str, str]
    lines: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class ExtractedMessage:
    """A validated message: its kind, sender and documents."""

    kind: DocumentKind
    guid: str
    sender_code: str
    sender_name: str
    documents: tuple[ExtractedDocument, ...]


def kind_of(message_type: str, root: etree._Element) -> DocumentKind:
    """The document kind for an XSD-valid message, or a clear refusal if not accepted yet."""
    kind = KINDS.get(message_type)
    if kind is None:
        raise UnsupportedMessage(
            code="0999",
            title="Message type not accepted",
            errors=(
                FieldError(
                    path=f"/ceb:{message_type}",
                    rule="accepted-message-types",
                    line=source_line(root),
                    message=f"{message_type} is valid CEB but this platform accepts only "
                    + ", ".join(sorted(KINDS)),
                    value=message_type,
                ),
            ),
        )
    return kind


def _fields(element: etree._Element | None) -> dict[str, str]:
    """Child elements as name -> text (whitespace kept as sent; absent optional fields omitted)."""
    if element is None:  # the XSD makes every element read here mandatory
        raise ValueError("extract() needs an XSD-valid message")
    return {
        etree.QName(child).localname: child.text or ""
        for child in element
        if isinstance(child.tag, str)
    }


def extract(root: etree._Element, kind: DocumentKind) -> ExtractedMessage:
    """Read every document of an XSD-valid message of `kind`."""
    ns = {"ceb": CEB_NS}
    transfer = _fields(root.find("ceb:BaseTransfer", ns))
    documents = []
    for index, body in enumerate(root.iterfind(f"ceb:{kind.body_element}", ns)):
        head = _fields(body.find(f"ceb:{kind.head_element}", ns))
        lines: tuple[dict[str, str], ...] = ()
        if kind.line_element is not None:
            lines = tuple(_fields(line) for line in body.iterfind(f"ceb:{kind.line_element}", ns))
        documents.append(
            ExtractedDocument(
                index=index, business_key=head[kind.key_field], head=head, lines=lines
            )
        )
    return ExtractedMessage(
        kind=kind,
        guid=root.get("guid", ""),
        sender_code=transfer["copCode"],
        sender_name=transfer.get("copName", ""),
        documents=tuple(documents),
    )
