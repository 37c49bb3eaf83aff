"""Layer 3 of validation: the field rules beyond the XSD that customs checks on arrival.

Format rules (codes, dates, decimals, line numbering) refuse a message at once, like a CEB900.
Rules about consistency (line arithmetic, buyer identity, trade-mode conditions) are business
rules: the document is still accepted into the database (120) and they are applied, with the
other cross-document rules, when its declaration is matched (`customs.domain.matching`).
"""

from __future__ import annotations

from customs.ceb.documents import ExtractedMessage
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

# The consistency rules (X1-X3, resident ID, trade-mode conditions) never refuse a message here,
# so only the rules on single fields are run (field_rules.field_errors): the same format errors,
# in the same order, as filtering what check_order/check_payment/... report.


def check_formats(message: ExtractedMessage) -> None:
    """Refuse the message if any document breaks a format rule; every breach is named."""
    kind = message.kind
    message_type = kind.message_type
    if not field_rules.checks_fields_of(message_type):
        return
    errors = [
        FieldError(
            path=f"/ceb:{message_type}/ceb:{kind.body}[{doc.index + 1}]/"
            + "/".join(f"ceb:{step}" for step in error.path.split("/")),
            rule=f"field:{error.rule}",
            message=error.message,
            value=error.value,
        )
        for doc in message.documents
        for error in field_rules.field_errors(message_type, doc.head, doc.lines)
        if error.rule in FORMAT_RULES
    ]
    if errors:
        raise MessageFormatError(
            code="0002", title="Message breaks the field rules", errors=tuple(errors)
        )
