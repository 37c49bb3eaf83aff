"""Document kinds of the CEB message set and the extraction of each document from a message."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from customs.ceb.schema import CEB_NS, source_line
from customs.domain.errors import FieldError, UnsupportedMessage


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """How one kind of business document sits in its message and is answered by a receipt.

    `body` is the repeating element of the message; `head` the element holding the document's
    fields inside it (None when the body itself holds them); `lines` the repeating line element.
    `key_fields` identify a declared document (a second appType=1 with the same key is a
    duplicate, answered with `duplicate_code`); `partition_field` keys its events on Kafka, so
    that the documents of one declaration are handled in order by one consumer.
    """

    message_type: str
    direction: str  # "import" | "export"
    body: str
    head: str | None
    lines: str | None
    key_fields: tuple[str, ...]
    partition_field: str
    receipt_element: str
    duplicate_code: int
    label: str

    @property
    def receipt_message(self) -> str:
        """The receipt message answering this kind: CEB311Message -> CEB312Message."""
        return f"CEB{int(self.message_type[3:6]) + 1}Message"


# Duplicate codes from the spec (dossier §1.7); 100 (退单) where the spec lists no specific code.
_DUPLICATE = 100
K = DocumentKind
# fmt: off
KINDS: dict[str, DocumentKind] = {
    kind.message_type: kind
    for kind in (
        # import
        K("CEB311Message", "import", "Order", "OrderHead", "OrderList",
          ("ebpCode", "orderNo"), "orderNo", "OrderReturn", -301010, "order"),
        K("CEB411Message", "import", "Payment", "PaymentHead", None,
          ("payCode", "payTransactionId"), "orderNo", "PaymentReturn", -401007, "payment"),
        K("CEB511Message", "import", "Logistics", "LogisticsHead", None,
          ("logisticsCode", "logisticsNo"), "orderNo", "LogisticsReturn", -504012, "waybill"),
        K("CEB513Message", "import", "LogisticsStatus", None, None,
          ("logisticsCode", "logisticsNo", "logisticsStatus"), "logisticsNo",
          "LogisticsStatusReturn", -505012, "waybill status"),
        K("CEB621Message", "import", "Inventory", "InventoryHead", "InventoryList",
          ("ebpCode", "orderNo"), "orderNo", "InventoryReturn", -621004, "inventory"),
        K("CEB623Message", "import", "InvtCancel", None, None,
          ("agentCode", "invtNo"), "orderNo", "InvtCancelReturn", _DUPLICATE, "cancellation"),
        K("CEB625Message", "import", "InvtRefund", "InvtRefundHead", "InvtRefundList",
          ("agentCode", "invtNo", "copNo"), "orderNo", "InvtRefundReturn", _DUPLICATE, "return"),
        K("CEB711Message", "import", "Delivery", "DeliveryHead", "DeliveryList",
          ("operatorCode", "billNo"), "billNo", "DeliveryReturn", _DUPLICATE,
          "warehouse entry"),
        # export
        K("CEB303Message", "export", "Order", "OrderHead", "OrderList",
          ("ebpCode", "orderNo"), "orderNo", "OrderReturn", _DUPLICATE, "export order"),
        K("CEB403Message", "export", "Receipts", None, None,
          ("ebcCode", "orderNo"), "orderNo", "ReceiptsReturn", _DUPLICATE,
          "receipt of payment"),
        K("CEB505Message", "export", "Logistics", None, None,
          ("logisticsCode", "logisticsNo"), "logisticsNo", "LogisticsReturn", _DUPLICATE,
          "export waybill"),
        K("CEB507Message", "export", "Arrival", "ArrivalHead", "ArrivalList",
          ("operatorCode", "copNo", "msgSeqNo"), "copNo", "ArrivalReturn", _DUPLICATE,
          "arrival"),
        K("CEB509Message", "export", "Departure", "DepartureHead", "DepartureList",
          ("logisticsCode", "copNo", "msgSeqNo"), "copNo", "DepartureReturn", _DUPLICATE,
          "departure"),
        K("CEB603Message", "export", "Inventory", "InventoryHead", "InventoryList",
          ("agentCode", "copNo"), "orderNo", "InventoryReturn", _DUPLICATE,
          "export inventory"),
        K("CEB605Message", "export", "InvtCancel", None, None,
          ("agentCode", "copNo"), "invtNo", "InvtCancelReturn", _DUPLICATE,
          "export cancellation"),
        K("CEB607Message", "export", "WayBill", "WayBillHead", "WayBillList",
          ("agentCode", "copNo", "msgSeqNo"), "billNo", "WayBillReturn", _DUPLICATE,
          "master/house bill link"),
        K("CEB213Message", "export", "InvtRefund", "InvtRefundHead", "InvtRefundList",
          ("agentCode", "coElNo"), "invtNo", "RefundReturn", _DUPLICATE, "export return"),
        K("CEB215Message", "export", "InvtRefundDetail", None, None,
          ("operatorCode", "coElNo"), "logisticsNo", "InvtRefundDetailReturn", _DUPLICATE,
          "returned goods tally"),
        K("CEB701Message", "export", "SummaryApply", "SummaryApplyHead", "SummaryApplyList",
          ("agentCode", "copNo", "msgSeqNo"), "copNo", "SummaryReturn", _DUPLICATE,
          "summary declaration"),
    )
}
# fmt: on


@dataclass(frozen=True, slots=True)
class ExtractedDocument:
    """One business document of a message, as the sender declared it (XSD-valid already)."""

    index: int
    head: dict[str, str]
    lines: tuple[dict[str, str], ...]
    element: etree._Element

    def key(self, kind: DocumentKind) -> str:
        """The declared-document key, e.g. `1105910159/order2016...` (fields joined by /)."""
        return "/".join(self.head.get(name, "") for name in kind.key_fields)

    def partition_key(self, kind: DocumentKind) -> str:
        """The value its events are keyed by on Kafka (orderNo for the import set)."""
        return self.head.get(kind.partition_field) or self.key(kind)


@dataclass(frozen=True, slots=True)
class ExtractedMessage:
    """A validated message: its kind, sender and documents."""

    kind: DocumentKind
    guid: str
    sender_code: str
    sender_name: str
    documents: tuple[ExtractedDocument, ...]


def kind_of(message_type: str, root: etree._Element) -> DocumentKind:
    """The document kind for an XSD-valid message, or a clear refusal for receipts and the rest."""
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
                    message=f"{message_type} is valid CEB but is not sent to customs by "
                    "enterprises; accepted: " + ", ".join(sorted(KINDS)),
                    value=message_type,
                ),
            ),
        )
    return kind


# Every element of a CEB message is in the customs namespace; its tags all begin with this.
_CEB = f"{{{CEB_NS}}}"
_CUT = len(_CEB)


# The local name of each "{namespace}name" tag met: a message set's few dozen names, so that a
# tag is looked up rather than sliced again for every field of every document (extract: 85 ->
# 69 us a declaration with the e2e's messages). Bounded, against names the XSD would refuse. A
# dict rather than functools.lru_cache (as parse_decimal is): the cached call costs about 1.5
# times a dict's get, once for every field of every document.
_LOCAL_NAMES: dict[str, str] = {}


def _local_name(tag: str) -> str:
    name = tag[_CUT:] if tag.startswith(_CEB) else tag[tag.find("}") + 1 :]
    if len(_LOCAL_NAMES) < 4096:
        _LOCAL_NAMES[tag] = name
    return name


def _fields(element: etree._Element | None, *, leaves: bool = False) -> dict[str, str]:
    """Leaf child elements as name -> text as sent (absent optional fields are omitted).

    The parser drops comments and processing instructions first, so the text read here is
    exactly what the canonical form (and a signature over it) covers. `leaves`: the XSD makes
    every child of `element` a simple field (a head's, a line's, BaseTransfer's: the official
    XSDs, checked by tests/customs/test_extract_fields.py), so none is asked for children of
    its own (`len`: 0.44% of a submission's instructions).
    """
    if element is None:  # the XSD makes every element read here mandatory
        raise ValueError("extract() needs an XSD-valid message")
    names = _LOCAL_NAMES
    fields = {}
    for child in element:
        if leaves or len(child) == 0:
            tag = child.tag
            if type(tag) is str:  # not a comment's or an entity's (the parser drops them)
                fields[names.get(tag) or _local_name(tag)] = child.text or ""
    return fields


def extract(root: etree._Element, kind: DocumentKind) -> ExtractedMessage:
    """Read every document of an XSD-valid message of `kind`.

    It walks each document's children once, comparing full tags, rather than finding its head
    and lines by path: ElementPath's cost per call was about a seventh of the extraction (the
    e2e's messages of 25 documents: 86-99 against 101-115 us a declaration, 2026-12-07)."""
    head_tag = None if kind.head is None else _CEB + kind.head
    lines_tag = None if kind.lines is None else _CEB + kind.lines
    documents = []
    for index, body in enumerate(root.iterchildren(_CEB + kind.body)):
        head = body if head_tag is None else None
        lines = []
        for child in body if head is None or lines_tag is not None else ():
            tag = child.tag
            if tag == lines_tag:
                lines.append(_fields(child, leaves=True))
            elif head is None and tag == head_tag:  # the first, as find() took it
                head = child
        documents.append(
            ExtractedDocument(
                index=index,
                head=_fields(head, leaves=head_tag is not None),  # a body: its lines too
                lines=tuple(lines),
                element=body,
            )
        )
    transfer = _fields(next(root.iterchildren(_CEB + "BaseTransfer"), None), leaves=True)
    return ExtractedMessage(
        kind=kind,
        guid=root.get("guid", ""),
        sender_code=transfer["copCode"],
        sender_name=transfer.get("copName", ""),
        documents=tuple(documents),
    )
