"""Returns of exported goods (出口退货, CEB213/CEB215, GACC Announcement 2020 No. 44), as pure
rules. The spec (202205, §2.17-2.20) gives what they are checked against:

- CEB213 return application, by the e-commerce enterprise: it names the original export
  inventory (`invtNo`, which customs must hold), with the same platform (`ebpCode`) and
  e-commerce enterprise (`ebcCode`) as that inventory; the carrier, waybill and declarant may be
  other ones (those of the goods coming back). `ieFlag` is I (the goods enter), `country` (where
  they come from) is not China (142), and `tradeMode`, when given, is 9661 for a 9610, 9710 or
  9810 export and 1261 for a special-zone (1210, 1239) one. Each line is a line of the original
  inventory (`gnum`) with its `gcode`, `gname`, `gmodel` and units, and quantities (`qty`,
  `qty1`, `qty2`) no larger than declared, less what earlier returns took back.
  Goods are returned once they were released: the inventory is released (800) or closed (899);
  before release it is cancelled instead (CEB605), and a cancelled or rejected one has nothing to
  return. Its CEB214 receipt is 120 (海关入库, accepted) or 100 naming every reason.
- CEB215 tally of the returned goods (理货明细单, 运抵), by the supervision site's operator: its
  waybill (`logisticsCode` + `logisticsNo`) names a return customs accepted (120) and not
  tallied yet; `invtNo`, when given, is that return's; `ieFlag` is I. The return is then
  released (CEB214 800: the goods are back in the country) and the CEB216 answers 399.

On the inventory: a return takes nothing from its CEB604 state (CEB604 has no return code: it
stays 800 or 899); each return's receipts are announced on its declaration as clearance changes
(receipt CEB214), a released return marks the declaration returned, and an inventory with an
accepted or released return is no longer summarised (its goods, or some of them, came back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from customs.domain.clearance import allowed_on
from customs.domain.export_clearance import CLOSED, RELEASED, STATE_NAMES, Inventory
from customs.domain.field_rules import parse_decimal, parse_int

RECEIPT = "CEB214Message"
TALLY_RECEIPT = "CEB216Message"
RETURN_ACCEPTED, RETURN_RELEASED, TALLIED = 120, 800, 399
RETURNABLE = frozenset({RELEASED, CLOSED})
CHINA = "142"
# The return's trade mode by the export's (spec §2.17.4: 一般出口填 9661，特殊区域出口填 1261).
RETURN_TRADE_MODE = {"9610": "9661", "9710": "9661", "9810": "9661", "1210": "1261", "1239": "1261"}
_SAME_AS_INVENTORY = ("ebpCode", "ebcCode")
_SAME_LINE = ("gcode", "gname", "gmodel", "unit", "unit1", "unit2")
QUANTITIES = ("qty", "qty1", "qty2")

for _receipt, _code in (
    (RECEIPT, RETURN_ACCEPTED),
    (RECEIPT, RETURN_RELEASED),
    (TALLY_RECEIPT, TALLIED),
):
    if not allowed_on(_receipt, _code):
        raise ValueError(f"{_receipt} does not carry {_code}")

Returned = Mapping[int, Mapping[str, Decimal]]  # gnum -> quantity field -> returned before


def return_problems(
    head: Mapping[str, str],
    lines: Sequence[Mapping[str, str]],
    *,
    inventory: Inventory,
    original_head: Mapping[str, str],
    original_lines: Sequence[Mapping[str, str]],
    returned: Returned,
) -> list[str]:
    """Why a CEB213 cannot return goods of `inventory` (empty when it can)."""
    number = inventory.invt_no
    found: list[str] = []
    if inventory.cancelled:
        found.append(f"inventory {number} was cancelled: nothing left the country")
    elif inventory.status not in RETURNABLE:
        name = STATE_NAMES.get(inventory.status, "in another state")
        found.append(
            f"inventory {number} is {name} ({inventory.status}); goods are returned only once "
            "released (800) or departed (899)"
        )
    for name in _SAME_AS_INVENTORY:
        if head.get(name) != original_head.get(name):
            found.append(
                f"{name} {head.get(name)!r} is not inventory {number}'s "
                f"({original_head.get(name)!r})"
            )
    if head.get("ieFlag") != "I":
        found.append(f"ieFlag {head.get('ieFlag')!r}: a return of exported goods carries I")
    if head.get("country") == CHINA:
        found.append("country 142: the goods come back from abroad, not from China")
    expected = RETURN_TRADE_MODE.get(original_head.get("tradeMode", ""))
    if head.get("tradeMode") and expected and head["tradeMode"] != expected:
        found.append(
            f"tradeMode {head['tradeMode']}: the return of a {original_head.get('tradeMode')} "
            f"export is declared {expected}"
        )
    original = {parse_int(line.get("gnum", "")): line for line in original_lines}
    for line in lines:
        gnum = parse_int(line.get("gnum", ""))
        declared = original.get(gnum)
        if gnum is None or declared is None:
            found.append(f"line gnum {line.get('gnum')!r} is not a line of inventory {number}")
            continue
        for name in _SAME_LINE:
            if (line.get(name) or None) != (declared.get(name) or None):
                found.append(
                    f"line {gnum} {name} {line.get(name)!r} is not the inventory's "
                    f"({declared.get(name)!r})"
                )
        before = returned.get(gnum, {})
        for name in QUANTITIES:
            asked, limit = parse_decimal(line.get(name)), parse_decimal(declared.get(name))
            if asked is None:
                continue
            left = (limit or Decimal(0)) - before.get(name, Decimal(0))
            if asked > left:
                found.append(
                    f"line {gnum} returns {name} {line[name]} but {left} of "
                    f"{declared.get(name, '0')} declared is left to return"
                )
    return found


def quantities(lines: Sequence[Mapping[str, str]]) -> dict[int, dict[str, Decimal]]:
    """What a return takes back, per line and quantity field."""
    taken: dict[int, dict[str, Decimal]] = {}
    for line in lines:
        gnum = parse_int(line.get("gnum", ""))
        if gnum is None:
            continue
        per_line = taken.setdefault(gnum, {})
        for name in QUANTITIES:
            value = parse_decimal(line.get(name))
            if value is not None:
                per_line[name] = per_line.get(name, Decimal(0)) + value
    return taken


def tally_problems(
    head: Mapping[str, str], *, return_invt_no: str | None, return_status: int | None
) -> list[str]:
    """Why a CEB215 cannot tally the return its waybill names (`return_status` None: there is
    none customs accepted)."""
    waybill = f"{head.get('logisticsCode')}/{head.get('logisticsNo')}"
    found: list[str] = []
    if head.get("ieFlag") != "I":
        found.append(f"ieFlag {head.get('ieFlag')!r}: returned goods carry I")
    if return_status is None:
        found.append(f"waybill {waybill}: no export return (CEB213) customs accepted")
    elif return_status == RETURN_RELEASED:
        found.append(f"waybill {waybill}: the return was tallied and released already (800)")
    elif return_status != RETURN_ACCEPTED:
        found.append(f"waybill {waybill}: the return is in state {return_status}, not 120")
    listed = head.get("invtNo", "").strip()
    if listed and return_invt_no is not None and listed != return_invt_no:
        found.append(f"invtNo {listed} is not the return's inventory ({return_invt_no})")
    return found
