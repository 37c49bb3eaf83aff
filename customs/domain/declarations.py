"""What customs decides for a declared document once format checks passed (appType 1/2/3)."""

from __future__ import annotations

from dataclasses import dataclass

from customs.domain.receipts import ReturnStatus

# "The document to change or delete was not found", per document kind (dossier §1.7).
NOT_FOUND_CODES: dict[str, int] = {
    "CEB311Message": -301009,
    "CEB411Message": -401001,
}
GENERIC_NOT_FOUND = ReturnStatus.REJECTED
ORDER_ON_INVENTORY = -301011  # an inventory was declared against this order: it cannot change
STALE = -301014  # older than the version customs holds: ignored


@dataclass(frozen=True, slots=True)
class Decision:
    """The receipt to issue and what becomes of the register of declared documents."""

    return_status: int
    return_info: str
    accepted: bool = False
    register: bool = False
    unregister: bool = False


def decide(
    *,
    message_type: str,
    label: str,
    app_type: str,
    declared: bool,
    duplicate_code: int,
    accepted_code: int = ReturnStatus.ACCEPTED,
    locked_by_inventory: bool = False,
    older_than_declared: bool = False,
    withdrawn_by: str | None = None,
) -> Decision:
    """Apply appType 1 (new), 2 (change), 3 (delete) against the documents already declared.

    `locked_by_inventory`: an order already carried by a declared inventory (-301011).
    `older_than_declared`: its appTime is before the declared version's (stale, -301014).
    `withdrawn_by`: the message that withdraws this kind (an inventory is cancelled, with CEB623
    or CEB605, never deleted with appType 3).
    """
    if app_type == "1":
        if declared:
            return Decision(
                duplicate_code,
                f"重复申报 / a {label} with the same key is already declared ({duplicate_code})",
            )
        return Decision(
            accepted_code,
            "海关入库成功 / accepted into the customs database",
            accepted=True,
            register=True,
        )
    action = "change" if app_type == "2" else "delete"
    if app_type == "3" and withdrawn_by is not None:
        return Decision(
            GENERIC_NOT_FOUND,
            f"不可删除 / a {label} cannot be deleted: withdraw it with {withdrawn_by}",
        )
    if not declared:
        code = NOT_FOUND_CODES.get(message_type, GENERIC_NOT_FOUND)
        return Decision(code, f"单据不存在 / no declared {label} to {action} ({code})")
    if older_than_declared:
        return Decision(STALE, f"旧报文 / older than the declared {label}: ignored ({STALE})")
    if locked_by_inventory:
        return Decision(
            ORDER_ON_INVENTORY,
            f"已申报清单 / an inventory is declared against this {label}: it cannot "
            f"{action} ({ORDER_ON_INVENTORY})",
        )
    if app_type == "2":
        return Decision(accepted_code, "变更成功 / change accepted", accepted=True, register=True)
    return Decision(accepted_code, "删除成功 / deletion accepted", accepted=True, unregister=True)
