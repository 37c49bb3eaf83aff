"""The import inventory's clearance state machine (dossier §1.6), as a pure transition table.

Codes are the official CEB622 `returnStatus` values:
2 declaring, 120 accepted into the customs database, 300 manual review, 399 review concluded,
500 inspection, 501/502/503/599 detained, 700 returned abroad, 800 released, 899 closed,
100 rejected. Every step is one receipt; some actions issue two (399 then 800 on release).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DECLARING, REJECTED, ACCEPTED = 2, 100, 120
REVIEW, CONCLUDED, INSPECTION = 300, 399, 500
DETENTION_CODES = frozenset({501, 502, 503, 599})
RETURNED_ABROAD, RELEASED, CLOSED = 700, 800, 899

# The codes each receipt type may carry (S1 XSD doc strings, dossier §1.6); negatives always.
_IMPORT_DOCUMENT_CODES = frozenset({2, 3, 4, 100, 120, 399})
_IMPORT_REQUEST_CODES = frozenset({1, 2, 3, 4, 100, 120, 399})
OTHER_EXPORT_CODES = frozenset({1, 2, 3, 4, 100, 399})
ALLOWED_CODES: dict[str, frozenset[int]] = {
    **dict.fromkeys(("CEB312Message", "CEB412Message", "CEB512Message"), _IMPORT_DOCUMENT_CODES),
    "CEB514Message": frozenset({2, 3, 4, 100, 399}),
    "CEB622Message": frozenset(
        {1, 2, 3, 4, 100, 120, 300, 399, 800, 899, 500, 501, 502, 503, 599, 700}
    ),
    **dict.fromkeys(("CEB624Message", "CEB626Message", "CEB712Message"), _IMPORT_REQUEST_CODES),
    "CEB604Message": frozenset({1, 2, 3, 4, 100, 120, 300, 399, 800, 899}),
    "CEB214Message": frozenset({1, 2, 3, 4, 100, 120, 300, 500, 505, 600, 800}),
    **dict.fromkeys(
        (
            "CEB304Message", "CEB404Message", "CEB506Message", "CEB508Message", "CEB510Message",
            "CEB606Message", "CEB608Message", "CEB702Message", "CEB216Message",
        ),
        OTHER_EXPORT_CODES,
    ),
}  # fmt: skip


def allowed_codes(receipt_message: str) -> frozenset[int]:
    """The non-negative codes a receipt type may carry (e.g. "CEB622Message" or "CEB622")."""
    name = receipt_message if receipt_message.endswith("Message") else receipt_message + "Message"
    if name not in ALLOWED_CODES:
        raise ValueError(f"unknown receipt type {receipt_message}")
    return ALLOWED_CODES[name]


def accepted_code(receipt_message: str) -> int:
    """The code that says a document is taken in: 120 where its receipt has it, else 399."""
    return ACCEPTED if ACCEPTED in allowed_codes(receipt_message) else CONCLUDED


FINAL = frozenset({REJECTED, RETURNED_ABROAD, CLOSED})
# Before release on the normal path 1/2 -> 3 -> 120 -> (300) -> 399 -> 800: the states in which
# an inventory may still be cancelled (CEB623, X15, inferred from -623005). Detention (500-599)
# and re-shipment (700) are not cancellable.
CANCELLABLE = frozenset({1, DECLARING, 3, ACCEPTED, REVIEW, CONCLUDED})
# After release: the states in which goods may be returned (CEB625, X14).
RETURNABLE = frozenset({RELEASED, CLOSED})


def allowed_on(receipt_message: str, code: int) -> bool:
    """Whether a receipt message type may carry a return code."""
    return code < 0 or code in allowed_codes(receipt_message)


class Action(StrEnum):
    """What can happen to an inventory after it is accepted: routes and officer decisions."""

    ROUTE_RELEASE = "route_release"
    ROUTE_REVIEW = "route_review"
    ROUTE_INSPECT = "route_inspect"
    RELEASE = "release"
    INSPECT = "inspect"
    DETAIN = "detain"
    RETURN_ABROAD = "return_abroad"
    REJECT = "reject"
    CLOSE = "close"
    REVIEW = "review"  # an officer sends an export inventory to manual review (export only)


# The action each of risk's routes takes.
ROUTES: dict[str, Action] = {
    "release": Action.ROUTE_RELEASE,
    "review": Action.ROUTE_REVIEW,
    "inspect": Action.ROUTE_INSPECT,
}
# What an inventory receipt's info says of its code (the reason for it follows).
RECEIPT_TEXT: dict[int, str] = {
    300: "转人工审核 / sent to manual review",
    399: "海关审结 / review concluded",
    500: "查验 / selected for inspection",
    501: "扣留移送通关 / detained, transferred to clearance",
    502: "扣留移送缉私 / detained, transferred to anti-smuggling",
    503: "扣留移送法规 / detained, transferred to legal",
    599: "其他扣留 / detained",
    700: "退运 / to be returned abroad",
    800: "放行 / released",
    899: "结关 / closed",
    100: "海关退单 / rejected by customs",
}


def receipt_info(code: int, reason: str) -> str:
    """An inventory receipt's info: its code's text, then the reason (1,000 characters)."""
    return f"{RECEIPT_TEXT.get(code, str(code))}: {reason}"[:1000]


class TransitionRefused(Exception):
    """The action is not allowed in the inventory's current state."""

    def __init__(
        self, current: int, action: Action, allowed: frozenset[int], *, why: str | None = None
    ) -> None:
        self.current = current
        self.action = action
        self.allowed = allowed
        reason = why or f"allowed from {', '.join(str(c) for c in sorted(allowed))}"
        super().__init__(f"{action.value} is not allowed in state {current}: {reason}")


@dataclass(frozen=True, slots=True)
class Step:
    """The receipts an action issues, in order (the last is the new state)."""

    codes: tuple[int, ...]

    @property
    def state(self) -> int:
        return self.codes[-1]


# action -> (states it may start from, receipts it issues)
_TABLE: dict[Action, tuple[frozenset[int], tuple[int, ...]]] = {
    Action.ROUTE_RELEASE: (frozenset({ACCEPTED}), (CONCLUDED, RELEASED)),
    Action.ROUTE_REVIEW: (frozenset({ACCEPTED}), (REVIEW,)),
    Action.ROUTE_INSPECT: (frozenset({ACCEPTED}), (INSPECTION,)),
    Action.RELEASE: (frozenset({REVIEW, INSPECTION}), (CONCLUDED, RELEASED)),
    Action.INSPECT: (frozenset({ACCEPTED, REVIEW}), (INSPECTION,)),
    Action.DETAIN: (frozenset({INSPECTION}), ()),  # the detention code comes with the action
    Action.RETURN_ABROAD: (frozenset({INSPECTION} | DETENTION_CODES), (RETURNED_ABROAD,)),
    Action.REJECT: (frozenset({ACCEPTED, REVIEW, INSPECTION} | DETENTION_CODES), (REJECTED,)),
    Action.CLOSE: (frozenset({RELEASED}), (CLOSED,)),
}


def transition(current: int, action: Action, *, detention_code: int | None = None) -> Step:
    """The receipts `action` issues from state `current`, or TransitionRefused."""
    if action not in _TABLE:  # an import declaration goes to review by risk's route only
        raise TransitionRefused(
            current, action, frozenset(), why="an import declaration is routed by risk"
        )
    allowed, codes = _TABLE[action]
    if current not in allowed:
        raise TransitionRefused(current, action, allowed)
    if action is Action.DETAIN:
        if detention_code not in DETENTION_CODES:
            raise ValueError(
                f"a detention needs one of the codes {sorted(DETENTION_CODES)}, "
                f"not {detention_code}"
            )
        codes = (detention_code,)
    return Step(codes)


def is_stale(current: int, incoming: int) -> bool:
    """Whether an update to `incoming` arrives after the inventory moved past it (ignored)."""
    order = {
        DECLARING: 0,
        ACCEPTED: 1,
        REVIEW: 2,
        INSPECTION: 3,
        CONCLUDED: 4,
        RELEASED: 5,
        CLOSED: 6,
    }
    if current in FINAL:
        return True
    return current in order and incoming in order and order[incoming] <= order[current]
