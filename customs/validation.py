"""Layer 3 of validation: the field rules beyond the XSD that customs checks on arrival.

Format rules (codes, dates, decimals, line numbering) refuse a message at once, like a CEB900.
Rules about consistency (line arithmetic, buyer identity, trade-mode conditions) are business
rules: the document is still accepted into the database (120) and they are applied, with the
other cross-document rules, when its declaration is matched (`customs.domain.matching`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from customs.ceb.documents import ExtractedDocument, ExtractedMessage
from customs.domain import field_rules
from customs.domain.errors import FieldError, MessageFormatError

FORMAT_RULES = frozenset(
    {
        "guid-format", "app-type", "app-status", "timestamp-format", "date-format",
        "order-type", "ie-flag", "import-currency", "id-type", "trade-mode", "gcode-format",
        "unit-code", "country-code", "customs-code", "district-code", "decimal-format",
        "non-negative-amount", "integer-format", "gnum-sequence",
    }
)  # fmt: skip

_CHECKS: dict[str, Callable[[ExtractedDocument], Sequence[FieldError]]] = {
    "CEB311Message": lambda d: field_rules.check_order(d.head, d.lines),
    "CEB411Message": lambda d: field_rules.check_payment(d.head),
    "CEB511Message": lambda d: field_rules.check_waybill(d.head),
    "CEB621Message": lambda d: field_rules.check_inventory(d.head, d.lines),
}


def check_formats(message: ExtractedMessage) -> None:
    """Refuse the message if any document breaks a format rule; every breach is named."""
    check = _CHECKS.get(message.kind.message_type)
    if check is None:
        return
    kind = message.kind
    errors = [
        FieldError(
            path=f"/ceb:{kind.message_type}/ceb:{kind.body}[{doc.index + 1}]/"
            + "/".join(f"ceb:{step}" for step in error.path.split("/")),
            rule=f"field:{error.rule}",
            message=error.message,
            value=error.value,
        )
        for doc in message.documents
        for error in check(doc)
        if error.rule in FORMAT_RULES
    ]
    if errors:
        raise MessageFormatError(
            code="0002", title="Message breaks the field rules", errors=tuple(errors)
        )
