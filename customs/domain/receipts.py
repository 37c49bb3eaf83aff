"""Receipt return codes (dossier §1.6, §1.7) and the texts customs answers with."""

from __future__ import annotations

from enum import IntEnum


class ReturnStatus(IntEnum):
    """The official `returnStatus` codes used so far."""

    DECLARING = 2  # 电子口岸申报中: received, format valid
    REJECTED = 100  # 海关退单
    ACCEPTED = 120  # 海关入库


RETURN_INFO: dict[int, str] = {
    ReturnStatus.DECLARING: "新增申报成功 / declared",
}

# The codes a CEB312/412/512 receipt may carry (S1): {2, 3, 4, 100, 120, 399, <0}.
ORDER_RECEIPT_CODES = frozenset({1, 2, 3, 4, 100, 120, 399})


def allowed_on_order_receipt(code: int) -> bool:
    """Whether an order receipt (CEB312) may carry `code`."""
    return code < 0 or code in ORDER_RECEIPT_CODES


def is_final(code: int) -> bool:
    """A receipt after which the document no longer changes without a new declaration."""
    return code < 0 or code in (ReturnStatus.REJECTED, ReturnStatus.ACCEPTED, 399)
