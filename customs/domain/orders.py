"""What customs decides for an order (CEB311) once it is in the customs database's hands."""

from __future__ import annotations

from dataclasses import dataclass

from customs.domain.receipts import RETURN_INFO, ReturnStatus

ORDER_NOT_FOUND = -301009


@dataclass(frozen=True, slots=True)
class OrderDecision:
    """The receipt to issue and what becomes of the platform's order number register."""

    return_status: int
    return_info: str
    register: bool = False
    unregister: bool = False

    @property
    def accepted(self) -> bool:
        return self.return_status == ReturnStatus.ACCEPTED


def decide_order(*, app_type: str, order_exists: bool) -> OrderDecision:
    """Apply appType 1/2/3 (new, change, delete) against the orders already declared."""
    if app_type == "1":
        if order_exists:
            return OrderDecision(ReturnStatus.ORDER_EXISTS, RETURN_INFO[ReturnStatus.ORDER_EXISTS])
        return OrderDecision(
            ReturnStatus.ACCEPTED, RETURN_INFO[ReturnStatus.ACCEPTED], register=True
        )
    if not order_exists:
        return OrderDecision(
            ORDER_NOT_FOUND,
            f"订单不存在 / no declared order to {'change' if app_type == '2' else 'delete'}"
            " (-301009)",
        )
    if app_type == "2":
        return OrderDecision(ReturnStatus.ACCEPTED, "变更成功 / change accepted", register=True)
    return OrderDecision(ReturnStatus.ACCEPTED, "删除成功 / deletion accepted", unregister=True)
