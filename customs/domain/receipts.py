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
