"""The export inventory's lifecycle (CEB603, dossier §1.2, §1.6), as pure rules.

- CEB603 taken in: 120, and an export inventory number (district + year + E + a 9-digit serial:
  18 characters; the spec allows up to 20) unless it carries one.
- CEB507 arrival at the supervision site: each waybill it lists (ArrivalList has logisticsNo
  only) must name an inventory customs holds, in state 120 (or 399: an officer's review
  concluded); each is concluded (399, unless it is already) and released (800).
- CEB607 master/house bill link: each line (invtNo, else logisticsNo) must name an inventory
  customs holds that has not left; it is recorded under the master bill (billNo).
- CEB509 departure: the inventories it lists and, when it names a master bill, every open one a
  CEB607 linked under that bill must be released (800); each is closed (899).
- CEB605 cancellation: by the inventory's declarant at its customs, before release only (120,
  300, 399) and not once summarised.

Officers (the decisions API of import declarations, `customs.clearance_service`) act on an
export inventory with the actions CEB604 has codes for, and no other:
- review: an accepted (120) inventory goes to manual review (300). Nothing else sends an export
  inventory there: risk scores import declarations only, so the officer who wants to look at
  one before its goods arrive places it on review. An arrival (CEB507) does not take it then.
- release: the review concludes (399); the goods are released (800) when they arrive at the
  supervision site (CEB507 takes a concluded inventory as it takes an accepted one).
- reject: 100 (海关退单), before release (120, 300, 399), and not once summarised.
Inspection, detention, return abroad and closing have no CEB604 code (500-700), or are the
departure's (899): they are refused for an export inventory.

Every step is a CEB604 receipt on the inventory, with the codes CEB604 allows only
({1, 2, 3, 4, 100, 120, 300, 399, 800, 899}). The spec has no "cancelled" code: a cancelled
inventory's last receipt is 100 (海关退单: customs no longer holds it as declared), and the
inventory is flagged cancelled so that nothing (a departure, a summary) takes it again. Nor does
the spec document an export cancellation error code (the import one is -623005): a refused
CEB605 is answered 100 with the reason.

A message that cannot take effect on every inventory it names is refused with 100 naming every
reason, and nothing moves: its CEB508/510/606/608 receipt answers the message as a whole (it has
no per-line status), as a refused summary application names all its reasons. One that does is
answered 399 (those receipts have no 120).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from customs.domain.clearance import Action, TransitionRefused, accepted_code, allowed_on
from customs.domain.clearance import Step as Transition
from customs.domain.declarations import Decision
from customs.domain.field_rules import parse_int

RECEIPT = "CEB604Message"
REQUEST_DONE = accepted_code("CEB608Message")  # 399, as for CEB508/510/606
REJECTED, ACCEPTED, REVIEW, CONCLUDED, RELEASED, CLOSED = 100, 120, 300, 399, 800, 899
STATE_NAMES: dict[int, str] = {
    REJECTED: "rejected or cancelled",
    ACCEPTED: "accepted",
    REVIEW: "under manual review",
    CONCLUDED: "concluded",
    RELEASED: "released",
    CLOSED: "closed",
}
RECEIPT_TEXT: dict[int, str] = {
    CONCLUDED: "运抵审结 / review concluded on arrival at the supervision site",
    RELEASED: "放行 / released",
    CLOSED: "结关 / closed: the goods left the country",
    REJECTED: "撤销 / cancelled",
}
_MAX_INFO = 1000


class Step(StrEnum):
    """What can happen to an export inventory customs holds, and the message that does it."""

    ARRIVE = "arrival (CEB507)"
    LINK = "master/house bill link (CEB607)"
    DEPART = "departure (CEB509)"
    CANCEL = "cancellation (CEB605)"


@dataclass(frozen=True, slots=True)
class Rule:
    """The states a step may start from, the receipts it issues (the last is the new state),
    and what the refusal says when the inventory is elsewhere."""

    start: frozenset[int]
    codes: tuple[int, ...]
    needs: str


RULES: dict[Step, Rule] = {
    Step.ARRIVE: Rule(
        frozenset({ACCEPTED, CONCLUDED}),
        (CONCLUDED, RELEASED),
        "only an accepted (120) or concluded (399) one",
    ),
    Step.LINK: Rule(
        frozenset({ACCEPTED, REVIEW, CONCLUDED, RELEASED}), (), "one that has not left yet"
    ),
    Step.DEPART: Rule(frozenset({RELEASED}), (CLOSED,), "released (800) goods only"),
    Step.CANCEL: Rule(
        frozenset({ACCEPTED, REVIEW, CONCLUDED}), (REJECTED,), "only before release (120, 300, 399)"
    ),
}
# An officer's action on an export inventory: (states it may start from, receipts it issues).
OFFICER_ACTIONS: dict[Action, tuple[frozenset[int], tuple[int, ...]]] = {
    Action.REVIEW: (frozenset({ACCEPTED}), (REVIEW,)),
    Action.RELEASE: (frozenset({REVIEW}), (CONCLUDED,)),
    Action.REJECT: (frozenset({ACCEPTED, REVIEW, CONCLUDED}), (REJECTED,)),
}
for _name, _codes in [
    *((str(s), r.codes) for s, r in RULES.items()),
    *((str(a), c) for a, (_, c) in OFFICER_ACTIONS.items()),
]:  # every receipt a step or an officer issues must be a CEB604 code
    if not all(allowed_on(RECEIPT, code) for code in _codes):
        raise ValueError(f"{_name} issues a code {RECEIPT} does not allow: {_codes}")


@dataclass(frozen=True, slots=True)
class Inventory:
    """What the rules need to know of an export inventory customs holds."""

    invt_no: str
    status: int
    logistics_code: str = ""
    cancelled: bool = False
    logistics_no: str = ""
    summarised_in: str | None = None  # the sumNo of the summary that took it, if any

    @property
    def open(self) -> bool:
        """Not cancelled, refused nor closed: its goods may still move."""
        return not self.cancelled and self.status not in (REJECTED, CLOSED)


class StepRefused(Exception):
    """The step cannot happen to the inventory in its current state."""

    def __init__(self, inventory: Inventory, step: Step, why: str) -> None:
        self.inventory = inventory
        self.step = step
        self.why = why
        super().__init__(why)


def refusal(inventory: Inventory, step: Step) -> str | None:
    """Why `step` cannot happen to `inventory`, or None when it can."""
    number = inventory.invt_no
    if inventory.cancelled:
        return f"inventory {number} was cancelled"
    if step is Step.CANCEL and inventory.summarised_in:
        return f"inventory {number} is summarised in {inventory.summarised_in}"
    rule = RULES[step]
    if inventory.status in rule.start:
        return None
    name = STATE_NAMES.get(inventory.status, "in another state")
    return f"inventory {number} is {name} ({inventory.status}); the {step.value} takes {rule.needs}"


def receipts(inventory: Inventory, step: Step) -> tuple[int, ...]:
    """The CEB604 codes `step` issues on `inventory`, in order (not the one it is in already);
    StepRefused if it cannot."""
    why = refusal(inventory, step)
    if why is not None:
        raise StepRefused(inventory, step, why)
    return tuple(code for code in RULES[step].codes if code != inventory.status)


def officer_step(inventory: Inventory, action: Action) -> Transition:
    """The CEB604 receipts an officer's `action` issues on `inventory`, or TransitionRefused
    naming why (an action CEB604 has no code for, the state, a cancellation, a summary)."""
    current = inventory.status
    if action not in OFFICER_ACTIONS:
        raise TransitionRefused(
            current,
            action,
            frozenset(),
            why=f"an export inventory's receipt ({RECEIPT}) has no code for it; officers "
            f"{', '.join(a.value for a in OFFICER_ACTIONS)} export inventories",
        )
    allowed, codes = OFFICER_ACTIONS[action]
    if inventory.cancelled:
        raise TransitionRefused(
            current, action, allowed, why=f"inventory {inventory.invt_no} was cancelled"
        )
    if action is Action.REJECT and inventory.summarised_in:
        raise TransitionRefused(
            current,
            action,
            allowed,
            why=f"inventory {inventory.invt_no} is summarised in {inventory.summarised_in}",
        )
    if current not in allowed:
        raise TransitionRefused(current, action, allowed)
    return Transition(codes)


def choose(candidates: Sequence[Inventory], *, logistics_code: str) -> Inventory | None:
    """The inventory a waybill number (logisticsNo) names among those customs holds with it.

    A carrier reuses a number only after six months (§1.5 rule 10), so several may share it:
    the open one wins, then the one of the carrier named. None when there is none, or when
    several remain (the number is ambiguous).
    """
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    remaining = [c for c in candidates if c.open] or list(candidates)
    if len(remaining) > 1:
        remaining = [c for c in remaining if c.logistics_code == logistics_code]
    return remaining[0] if len(remaining) == 1 else None


def link_problems(
    inventory: Inventory, *, waybill: str, bill: str, linked_to: str | None, may_move: bool
) -> list[str]:
    """Why a CEB607 line cannot put `inventory` under master bill `bill`: it left or was
    cancelled, the line's waybill is not its own, or it travels under another bill already (a
    change of the link, appType 2, may move it)."""
    found = [why] if (why := refusal(inventory, Step.LINK)) is not None else []
    if waybill != inventory.logistics_no:
        found.append(
            f"waybill {waybill} is not inventory {inventory.invt_no}'s ({inventory.logistics_no})"
        )
    if linked_to is not None and linked_to != bill and not may_move:
        found.append(f"inventory {inventory.invt_no} travels under bill {linked_to} already")
    return found


def unlink_problems(inventory: Inventory, *, bill: str, linked_to: str | None) -> list[str]:
    """Why a CEB607 deletion (appType 3) cannot take `inventory` off master bill `bill`: it
    left or was cancelled (its link is history), or it is not under that bill."""
    found = [why] if (why := refusal(inventory, Step.LINK)) is not None else []
    if linked_to != bill:
        under = f" (it travels under {linked_to})" if linked_to else ""
        found.append(f"inventory {inventory.invt_no} is not linked under bill {bill}{under}")
    return found


def part_problems(head: Mapping[str, str]) -> list[str]:
    """A split CEB507/509/607 part is handled on its own; its msgSeqNo must fit its msgCount
    (§1.5 rule 14: numbered from 1 without gaps)."""
    count = parse_int(head.get("msgCount", ""))
    seq = parse_int(head.get("msgSeqNo", ""))
    if count is None or seq is None or count < 1 or not 1 <= seq <= count:
        return [
            f"X19 msgSeqNo: part {head.get('msgSeqNo')!r} of {head.get('msgCount')!r} is not "
            "a part numbered from 1 to msgCount"
        ]
    return []


def arrival_problems(head: Mapping[str, str], listed: Sequence[str]) -> list[str]:
    """What is wrong with a CEB507 arrival on its own."""
    found = part_problems(head)
    if head.get("ieFlag") != "E":
        found.append(f"ieFlag {head.get('ieFlag')!r}: an export arrival carries E")
    if not listed:
        found.append("the arrival lists no waybill (ArrivalList logisticsNo)")
    return found


# The cancellation must come from the inventory's declarant, at the customs holding it.
_CANCEL_AGREES = ("agentCode", "ebcCode", "customsCode")


def cancel_problems(cancel: Mapping[str, str], inventory: Mapping[str, str]) -> list[str]:
    """Where a CEB605 disagrees with the inventory it cancels."""
    return [
        f"{name} {cancel.get(name)!r} is not the inventory's ({inventory.get(name)!r})"
        for name in _CANCEL_AGREES
        if cancel.get(name) != inventory.get(name)
    ]


def refused(label: str, reasons: Sequence[str]) -> Decision:
    """A 100 (海关退单) naming every reason, for the receipt of the message refused."""
    text = f"退单 / the {label} is refused: " + "; ".join(reasons)
    return Decision(REJECTED, text[:_MAX_INFO])


def done(text: str) -> Decision:
    """The answer to a CEB507/509/605/607 that took effect: 399 (its receipt has no 120)."""
    return Decision(REQUEST_DONE, info(text), accepted=True, register=True)


def info(text: str) -> str:
    """A receipt text within the 1000 characters returnInfo allows."""
    return text if len(text) <= _MAX_INFO else text[: _MAX_INFO - 3] + "..."
