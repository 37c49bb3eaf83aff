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


@dataclass(frozen=True, slots=True)
class Decision:
    """The receipt to issue and what becomes of the register of declared documents."""

    return_status: int
    return_info: str
    register: bool = False
    unregister: bool = False

    @property
    def accepted(self) -> bool:
        return self.return_status == ReturnStatus.ACCEPTED


def decide(
    *, message_type: str, label: str, app_type: str, declared: bool, duplicate_code: int
) -> Decision:
    """Apply appType 1 (new), 2 (change), 3 (delete) against the documents already declared."""
    if app_type == "1":
        if declared:
            return Decision(
                duplicate_code,
                f"重复申报 / a {label} with the same key is already declared ({duplicate_code})",
            )
        return Decision(
            ReturnStatus.ACCEPTED,
            "海关入库成功 / accepted into the customs database",
            register=True,
        )
    if not declared:
        code = NOT_FOUND_CODES.get(message_type, GENERIC_NOT_FOUND)
        action = "change" if app_type == "2" else "delete"
        return Decision(code, f"单据不存在 / no declared {label} to {action} ({code})")
    if app_type == "2":
        return Decision(ReturnStatus.ACCEPTED, "变更成功 / change accepted", register=True)
    return Decision(ReturnStatus.ACCEPTED, "删除成功 / deletion accepted", unregister=True)
