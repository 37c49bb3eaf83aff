"""Export summary declarations (汇总申报, dossier §3.3): customs concludes an accepted CEB701
application into one customs declaration (报关单) and issues the CEB792 summary result, whose
`entryId` is what the export tax refund relies on.

Numbers customs assigns here (the spec gives each only as C18):
- `sumNo` (汇总申请编号): "S" + YYYYMMDD (China date of the summary) + a 9-digit serial per day,
  the shape of the official CEB702/CEB792 samples (S20180507000000001);
- `declSeqNo` (汇总统一编号, one per declaration): the same shape on its own sequence, as in the
  official CEB792 sample (S20180508000000001);
- `entryId` (报关单编号): the customs declaration number as declarations are numbered: the 4-digit
  customs district accepting it + the year it is accepted + "0" (export; "1" is import) + a
  9-digit serial per district, year and direction. 18 digits, like the import `invtNo` but with
  the declaration's digit flag instead of the inventory's letter.

What is summarised: with `startTime`/`endTime` (§1.5 rule 13) the consignor's summary-declaration
(statisticsFlag B) export inventories declared at the same customs in that window, the list being
ignored; otherwise the listed `invtNo`s. A listed inventory customs holds must be the consignor's,
of statisticsFlag B, at the same customs, not summarised before nor cancelled (CEB605, which
customs.export_flow flags) nor returned (an accepted CEB213: customs.export_returns); the window
skips those too. A listed number customs does
not hold (the official sample's `Invt20180507000001`) is summarised by number only: it is taken
(so it cannot be summarised twice) but gives no goods lines, and the receipt says so. Goods lines
of the inventories held become the CEB792 list; `gseqno` is the declaration line each inventory
line is summed into: one per goods code, and per goods name when `itemNameFlag` is 1.

summaryFlag (§1.5 rule 13) says how many customs declarations: 1, one for the application (by
consignor); 2, one per producer (by consignor and producer): the inventories are grouped by
their CEB603 `ownerCode` (生产销售单位, the producer/seller), each group gets its own declSeqNo
and entryId, and its `gseqno` lines and weights are its own. The CEB792 carries one
SummaryResult per declaration (the XSD allows 1..100 in a message, as the official sample shows
several), its `note` naming the producer; so at most 100 producers per application. With
summaryFlag 2 every inventory must be on customs' record: one known by number only has no known
producer, and the application is refused naming it.

A split application (msgCount > 1) is concluded when its last part arrives (X19 then checks the
parts); earlier parts are answered 399 "part received". Each part gets its own CEB792 (its own
msgSeqNo) with the shared numbers: one SummaryResult per declaration, with the lines of the
inventories that part listed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from customs.context import Customs
from customs.db import (
    DeclaredKey,
    Document,
    DocumentParty,
    SummarisedInventory,
    SummaryResult,
)
from customs.domain import clearance
from customs.domain.declarations import Decision
from customs.domain.field_rules import parse_decimal, parse_int
from customs.domain.matching import Mismatch, check_split_messages, check_summary_apply
from customs.export_flow import cancelled_documents, cancelled_numbers
from customs.export_returns import returned_documents, returned_numbers
from customs.numbering import next_value
from customs.timefmt import china_time, return_time
from schemas.envelope import utc_now

APPLICATION = "CEB701Message"
EXPORT_INVENTORY = "CEB603Message"
ACCEPTED_CODE = clearance.accepted_code("CEB702Message")  # 399: the CEB702 receipt has no 120
EXPORT_FLAG = "0"  # the declaration number's direction digit: 0 export, 1 import
DEC_STATE = "A"  # decState as the official CEB792 sample gives it; the spec leaves it to customs
# CEB604 codes of an export inventory customs holds: accepted (120) onwards, not refused.
ON_RECORD = frozenset({120, 300, 399, 800, 899})
_GCODE = re.compile(r"\d{10}")
BY_PRODUCER = "2"  # summaryFlag 2: by consignor and producer (ownerCode), one declaration each
MAX_DECLARATIONS = 100  # SummaryResult elements one CEB792Message carries
# The enterprises of the application that the result names again.
_PARTIES = ("agentCode", "agentName", "ebcCode", "ebcName", "declAgentCode", "declAgentName")
_MAX_INFO = 1000


class SummaryNotFound(LookupError):
    """No export summary application with that reference, or no result for it yet."""


# --- the application, checked on its own (pure) ---------------------------------------------


def application_refusal(head: Mapping[str, str]) -> Decision | None:
    """A 100 naming what is wrong with one CEB701 part on its own (X18; X19 at once when it is
    not split or its msgSeqNo cannot fit its msgCount), or None."""
    found = list(check_summary_apply(head))
    count = parse_int(head.get("msgCount", ""))
    seq = parse_int(head.get("msgSeqNo", ""))
    if count is None or seq is None or count <= 1 or not 1 <= seq <= count:
        found.extend(check_split_messages([head], message_type=APPLICATION))
    return refused(_reasons(found)) if found else None


def refused(reasons: Sequence[str]) -> Decision:
    """A 100 (海关退单) naming every reason the application is refused."""
    text = "汇总申请退单 / the summary application is refused: " + "; ".join(reasons)
    return Decision(clearance.REJECTED, text[:_MAX_INFO])


def _reasons(problems: Sequence[Mismatch]) -> list[str]:
    return [f"{p.rule} {p.field}: {p.message}" for p in problems]


# --- concluding an application -----------------------------------------------------------


@dataclass(slots=True)
class _Part:
    document: Document
    head: dict[str, str]
    lines: list[dict[str, str]]

    @property
    def seq(self) -> int:
        return parse_int(self.head.get("msgSeqNo", "")) or 0


@dataclass(slots=True)
class _Inventory:
    invt_no: str
    head: dict[str, str]
    lines: list[dict[str, str]]


@dataclass(slots=True)
class _Plan:
    """What the summary takes in: per part, the inventories it brings (held or by number)."""

    taken: dict[int, list[str]] = field(default_factory=dict)  # part seq -> invtNos
    held: dict[str, _Inventory] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _part(document: Document) -> _Part:
    return _Part(document, json.loads(document.head), json.loads(document.lines))


def _parts(session: Session, current: _Part) -> list[_Part]:
    """All parts of the application in force and not yet concluded, this one included."""
    if parse_int(current.head.get("msgCount", "")) == 1:
        return [current]
    rows = session.execute(
        select(Document)
        .join(DeclaredKey, col(DeclaredKey.document_id) == col(Document.id))
        .outerjoin(SummaryResult, col(SummaryResult.application_document_id) == col(Document.id))
        .where(
            col(DeclaredKey.message_type) == APPLICATION,
            col(Document.message_type) == APPLICATION,  # on ix_document_type_business_key
            col(Document.business_key) == current.document.business_key,
            col(Document.id) != current.document.id,
            col(SummaryResult.id).is_(None),
        )
    ).scalars()
    same = ("agentCode", "copNo")
    others = [
        part
        for part in map(_part, rows)
        if all(part.head.get(n) == current.head.get(n) for n in same)
        and part.seq != current.seq  # a change (appType 2) of a part replaces it
    ]
    return sorted([*others, current], key=lambda p: p.seq)


def _in_force_inventories() -> Select[tuple[Document]]:
    return (
        select(Document)
        .join(DeclaredKey, col(DeclaredKey.document_id) == col(Document.id))
        .where(
            col(DeclaredKey.message_type) == EXPORT_INVENTORY,
            col(Document.return_status).in_(ON_RECORD),
            col(Document.id).not_in(cancelled_documents()),
            col(Document.id).not_in(returned_documents()),  # its goods, or some, came back
        )
    )


def _held_inventories(
    session: Session, *, ebc_code: str, numbers: Collection[str]
) -> dict[str, _Inventory]:
    """Export inventories customs holds, by invtNo: the consignor's, and any listed by number."""
    of_consignor = _in_force_inventories().join(
        DocumentParty,
        and_(
            col(DocumentParty.document_id) == col(Document.id),
            col(DocumentParty.role) == "ebcCode",
            col(DocumentParty.code) == ebc_code,
        ),
    )
    documents = list(session.execute(of_consignor).scalars())
    if numbers:
        listed = _in_force_inventories().where(col(Document.invt_no).in_(list(numbers)))
        documents.extend(session.execute(listed).scalars())
    found: dict[str, _Inventory] = {}
    for document in documents:
        head: dict[str, str] = json.loads(document.head)
        number = document.invt_no or head.get("invtNo")
        if number:
            found[number] = _Inventory(number, head, json.loads(document.lines))
    return found


def _summarised(session: Session, numbers: Collection[str]) -> dict[str, str]:
    """Of `numbers`, those already in a summary, with that summary's sumNo."""
    if not numbers:
        return {}
    rows = session.execute(
        select(col(SummarisedInventory.invt_no), col(SummaryResult.sum_no))
        .join(SummaryResult, col(SummaryResult.id) == col(SummarisedInventory.summary_result_id))
        .where(col(SummarisedInventory.invt_no).in_(list(numbers)))
    ).all()
    return {invt_no: sum_no for invt_no, sum_no in rows}


def _in_window(inventory: _Inventory, head: Mapping[str, str]) -> bool:
    own = inventory.head
    return (
        own.get("statisticsFlag") == "B"
        and own.get("customsCode") == head.get("customsCode")
        and (not head.get("loctNo") or own.get("loctNo") == head.get("loctNo"))
        and head["startTime"] <= own.get("appTime", "") <= head["endTime"]
    )


def _plan(session: Session, parts: Sequence[_Part]) -> _Plan:
    head = parts[0].head
    plan = _Plan()
    if head.get("startTime") and head.get("endTime"):  # §1.5 rule 13: the list is ignored
        held = _held_inventories(session, ebc_code=head["ebcCode"], numbers=())
        window = [n for n, inventory in held.items() if _in_window(inventory, head)]
        taken = sorted(set(window) - set(_summarised(session, window)))
        if not taken:
            plan.problems.append(
                f"no export inventory of {head['ebcCode']} (statisticsFlag B, customs "
                f"{head.get('customsCode')}) declared from {head['startTime']} to "
                f"{head['endTime']} is left to summarise"
            )
        plan.taken[parts[0].seq] = taken
        plan.held = {n: held[n] for n in taken}
        return plan
    for part in parts:
        listed = [line["invtNo"].strip() for line in part.lines if line.get("invtNo", "").strip()]
        plan.taken[part.seq] = list(dict.fromkeys(listed))
    numbers = [n for part_numbers in plan.taken.values() for n in part_numbers]
    if not numbers:
        plan.problems.append("the application names no inventory and gives no time window")
    if len(numbers) != len(set(numbers)):
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        plan.problems.append(f"inventories listed in more than one part: {', '.join(repeated)}")
    for number, sum_no in _summarised(session, numbers).items():
        plan.problems.append(f"inventory {number} is already summarised in {sum_no}")
    for number in cancelled_numbers(session, numbers):
        plan.problems.append(f"inventory {number} was cancelled (CEB605)")
    for number in returned_numbers(session, numbers):
        plan.problems.append(f"inventory {number} has a return of its goods (CEB213)")
    held = _held_inventories(session, ebc_code=head["ebcCode"], numbers=numbers)
    for number in dict.fromkeys(numbers):
        inventory = held.get(number)
        if inventory is None:
            continue
        plan.held[number] = inventory
        own = inventory.head
        if own.get("ebcCode") != head["ebcCode"]:
            plan.problems.append(
                f"inventory {number} belongs to consignor {own.get('ebcCode')}, "
                f"not {head['ebcCode']}"
            )
        if own.get("statisticsFlag") != "B":
            plan.problems.append(
                f"inventory {number} is a simplified declaration (statisticsFlag "
                f"{own.get('statisticsFlag')}), not a summary one (B)"
            )
        if own.get("customsCode") != head.get("customsCode"):
            plan.problems.append(
                f"inventory {number} was declared at customs {own.get('customsCode')}, "
                f"not {head.get('customsCode')}"
            )
    return plan


def _producers(plan: _Plan, summary_flag: str) -> tuple[dict[str, str], list[str]]:
    """The declaration each inventory taken goes into, by invtNo: its producer (ownerCode) with
    summaryFlag 2, else the application's one (""); and why that cannot be done."""
    into: dict[str, str] = {}
    problems: list[str] = []
    for numbers in plan.taken.values():
        for number in numbers:
            inventory = plan.held.get(number)
            if summary_flag != BY_PRODUCER:
                into[number] = ""
            elif inventory is None:
                problems.append(
                    f"inventory {number} is not on customs' record: summaryFlag 2 makes one "
                    "declaration per producer, and its producer (ownerCode) is unknown"
                )
            elif not inventory.head.get("ownerCode", "").strip():
                problems.append(f"inventory {number} names no producer (ownerCode)")
            else:
                into[number] = inventory.head["ownerCode"].strip()
    producers = set(into.values())
    if len(producers) > MAX_DECLARATIONS:
        problems.append(
            f"{len(producers)} producers: a CEB792 carries at most {MAX_DECLARATIONS} "
            "declarations (SummaryResult)"
        )
    return into, problems


def _result_lines(
    plan: _Plan, item_name_flag: str, into: Mapping[str, str]
) -> tuple[dict[tuple[int, str], list[dict[str, str]]], list[str]]:
    """SummaryResultList per part and declaration: each held inventory's goods lines, with
    their gseqno (the declaration's line, numbered per declaration)."""
    groups: dict[str, dict[tuple[str, str], int]] = {}
    per_part: dict[tuple[int, str], list[dict[str, str]]] = {}
    problems: list[str] = []
    for seq, numbers in plan.taken.items():
        for number in numbers:
            inventory = plan.held.get(number)
            if inventory is None or number not in into:
                continue
            declaration = into[number]
            lines = per_part.setdefault((seq, declaration), [])
            declared = groups.setdefault(declaration, {})
            logistics_no = inventory.head.get("logisticsNo", "")
            if not 0 < len(logistics_no) <= 32:
                problems.append(f"inventory {number} has no usable logisticsNo")
            goods = sorted(inventory.lines, key=lambda g: parse_int(g.get("gnum", "")) or 0)
            for line in goods:
                gcode, gnum = line.get("gcode", ""), parse_int(line.get("gnum", ""))
                if not _GCODE.fullmatch(gcode) or gnum is None or not 0 < gnum < 100_000:
                    problems.append(
                        f"inventory {number} line {line.get('gnum')}: gcode {gcode!r} is not "
                        "the 10-digit code a declaration line needs"
                    )
                    continue
                key = (gcode, line.get("gname", "") if item_name_flag == "1" else "")
                gseqno = declared.setdefault(key, len(declared) + 1)
                lines.append(
                    {
                        "invtNo": number,
                        "logisticsNo": logistics_no,
                        "gseqno": str(gseqno),
                        "gnum": str(gnum),
                        "gcode": gcode,
                    }
                )
    return per_part, problems


def _weight(inventories: Sequence[_Inventory], name: str) -> str:
    total = sum((parse_decimal(i.head.get(name)) or Decimal(0) for i in inventories), Decimal(0))
    return format(total, "f")


@dataclass(frozen=True, slots=True)
class _Declared:
    """One customs declaration of the summary: its numbers and its producer (summaryFlag 2)."""

    decl_seq_no: str
    entry_id: str
    owner_code: str
    inventories: tuple[_Inventory, ...]
    numbers: tuple[str, ...]


def _sum_no(session: Session, *, at: datetime) -> str:
    day = china_time(at).strftime("%Y%m%d")
    return f"S{day}{next_value(session, f'sum:{day}'):09d}"


def _declaration_numbers(session: Session, *, customs_code: str, at: datetime) -> tuple[str, str]:
    """(declSeqNo, entryId) of a new customs declaration."""
    local = china_time(at)
    day, year = local.strftime("%Y%m%d"), local.year
    return (
        f"S{day}{next_value(session, f'declseq:{day}'):09d}",
        f"{customs_code}{year:04d}{EXPORT_FLAG}"
        f"{next_value(session, f'entry:{customs_code}:{year}:{EXPORT_FLAG}'):09d}",
    )


def _producer_note(declared: _Declared) -> str:
    names = dict.fromkeys(i.head.get("ownerName", "") for i in declared.inventories)
    return info_text(f"生产销售单位 / producer {declared.owner_code} {' / '.join(names)}".strip())


def info_text(text: str) -> str:
    """A text within the 1000 characters returnInfo and note allow."""
    return text if len(text) <= _MAX_INFO else text[: _MAX_INFO - 3] + "..."


def conclude_summary(customs: Customs, session: Session, document: Document) -> Decision:
    """Conclude an accepted CEB701 application: take its inventories into one customs
    declaration (one per producer with summaryFlag 2), number each, and keep the CEB792 summary
    result (399, or 100 with the reasons)."""
    current = _part(document)
    refusal = application_refusal(current.head)
    if refusal is not None:
        return refusal
    parts = _parts(session, current)
    count = parse_int(current.head["msgCount"]) or 1
    if len(parts) < count:
        return Decision(
            ACCEPTED_CODE,
            f"汇总申请分包已接收 / part {current.seq} of {count} received; the summary is "
            "concluded when every part is in",
            accepted=True,
            register=True,
        )
    split = check_split_messages([p.head for p in parts], message_type=APPLICATION)
    if split:
        return refused(_reasons(split))
    head = parts[0].head
    plan = _plan(session, parts)
    into, producer_problems = _producers(plan, head.get("summaryFlag", ""))
    lines, line_problems = _result_lines(plan, current.head.get("itemNameFlag", ""), into)
    if plan.problems or producer_problems or line_problems:
        return refused(plan.problems + producer_problems + line_problems)

    now = utc_now()
    sum_no = _sum_no(session, at=now)
    declared: list[_Declared] = []
    for owner in sorted(set(into.values())):
        decl_seq_no, entry_id = _declaration_numbers(
            session, customs_code=head["customsCode"], at=now
        )
        numbers = tuple(n for n in dict.fromkeys(into) if into[n] == owner)
        declared.append(
            _Declared(
                decl_seq_no,
                entry_id,
                owner,
                tuple(plan.held[n] for n in numbers if n in plan.held),
                numbers,
            )
        )
    results: dict[tuple[int, str], SummaryResult] = {}
    for one in declared:
        common = {
            "customsCode": head["customsCode"],
            "sumNo": sum_no,
            "opDate": return_time(now),
            "declSeqNo": one.decl_seq_no,
            "entryId": one.entry_id,
            "decState": DEC_STATE,
            **{name: head.get(name, "") for name in _PARTIES},
            "grossWeight": _weight(one.inventories, "grossWeight"),
            "netWeight": _weight(one.inventories, "netWeight"),
            "msgCount": str(len(parts)),
        }
        if one.owner_code:
            common["note"] = _producer_note(one)
        for part in parts:
            result_head = {"guid": str(uuid.uuid4()).upper(), **common, "msgSeqNo": str(part.seq)}
            results[(part.seq, one.owner_code)] = SummaryResult(
                id=str(uuid.uuid4()),
                application_document_id=part.document.id,
                sum_no=sum_no,
                decl_seq_no=one.decl_seq_no,
                entry_id=one.entry_id,
                owner_code=one.owner_code,
                head=json.dumps(result_head, ensure_ascii=False),
                lines=json.dumps(lines.get((part.seq, one.owner_code), []), ensure_ascii=False),
                created_at=now,
            )
    for part in parts:  # the CEB702 receipt repeats the summary number given the application
        part.document.head = json.dumps({**part.head, "sumNo": sum_no}, ensure_ascii=False)
    session.add_all(results.values())
    session.flush()  # the inventories refer to the results
    by_number = [(n, seq) for seq, taken in plan.taken.items() for n in taken]
    session.add_all(
        SummarisedInventory(
            invt_no=number,
            summary_result_id=results[(seq, into[number])].id,
            on_record=number in plan.held,
        )
        for number, seq in by_number
    )
    unknown = [n for n, _ in by_number if n not in plan.held]
    line_count = sum(len(v) for v in lines.values())
    if len(declared) == 1:
        (one,) = declared
        into_text = f"customs declaration (报关单) {one.entry_id}, declSeqNo {one.decl_seq_no}" + (
            f" (producer {one.owner_code})" if one.owner_code else ""
        )
    else:
        into_text = (
            f"{len(declared)} customs declarations (报关单), one per producer: "
            + ", ".join(
                f"{d.entry_id} (producer {d.owner_code}, declSeqNo {d.decl_seq_no}: "
                f"{', '.join(d.numbers)})"
                for d in declared
            )
        )
    text = (
        f"汇总审结 / summary {sum_no} concluded into {into_text}: {len(by_number)} inventories, "
        f"{line_count} goods lines"
    )
    if unknown:
        text += f"; not on customs' record, summarised by number only: {', '.join(unknown)}"
    return Decision(ACCEPTED_CODE, info_text(text), accepted=True, register=True)


# --- reading summaries -------------------------------------------------------------------
