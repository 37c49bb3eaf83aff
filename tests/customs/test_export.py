"""Export summary declarations: a CEB701 concluded into a customs declaration and its CEB792."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import pytest
from lxml import etree

from customs import export, export_views, service
from customs.ceb.schema import CEB_NS, schema_for
from tests.customs import builders
from tests.support import sample, unsigned, wait_for
from tests.test_flow import workers

OFFICIAL = unsigned(sample("export", "CEB701Message"))  # CEB701's signature is optional
CONSIGNOR = "1105910159"  # the official sample's agent, consignor and declarant
ENTRY_ID = re.compile(r"1501\d{4}0\d{9}")  # district + year + 0 (export) + 9-digit serial
SUM_NO = re.compile(r"S\d{17}")
NS = {"ceb": CEB_NS}


def _application(copNo: str, invt_nos: Sequence[str] = (), **head: str | None) -> bytes:
    """The official sample's first application, with another copNo, other inventories listed
    and head fields changed (None removes one)."""
    root = etree.fromstring(OFFICIAL)
    first, *others = root.findall("ceb:SummaryApply", NS)
    for other in others:
        root.remove(other)
    for listed in first.findall("ceb:SummaryApplyList", NS):
        first.remove(listed)
    for number in invt_nos:
        listed = etree.SubElement(first, f"{{{CEB_NS}}}SummaryApplyList")
        etree.SubElement(listed, f"{{{CEB_NS}}}invtNo").text = number
    fields = {"copNo": copNo, **head}
    application_head = first.find("ceb:SummaryApplyHead", NS)
    assert application_head is not None
    for name, value in fields.items():
        element = application_head.find(f"ceb:{name}", NS)
        if value is None:
            if element is not None:
                application_head.remove(element)
            continue
        if element is None:  # an optional field the sample leaves out: put it in XSD order
            after = application_head.find("ceb:declAgentName", NS)
            assert after is not None
            element = etree.Element(f"{{{CEB_NS}}}{name}")
            if name == "endTime" and application_head.find("ceb:startTime", NS) is not None:
                after = application_head.find("ceb:startTime", NS)
                assert after is not None
            after.addnext(element)
        element.text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _export_inventory(
    invt_no: str, copNo: str, goods: Sequence[tuple[str, str]], **fields: str
) -> bytes:
    """A held CEB603 carrying its own invtNo (which customs keeps)."""
    return builders.export_inventory_message(copNo, goods=goods, invt_no=invt_no, **fields)


def _submit(customs, body: bytes) -> str:
    return service.submit_message(customs, body, correlation_id="export").documents[0].reference


def _decided(customs, reference: str):
    view = service.receipt_view(customs, reference)
    return view if view.return_status != 2 else None


def _result_xml(customs, reference: str) -> etree._Element:
    root = etree.fromstring(export_views.summary_result(customs, reference).as_xml())
    assert schema_for("export").validate(root), schema_for("export").error_log
    return root


def _head_field(root: etree._Element, name: str) -> str:
    return root.findtext(f"ceb:SummaryResult/ceb:SummaryResultHead/ceb:{name}", namespaces=NS)


def _lines(root: etree._Element) -> list[dict[str, str]]:
    return [
        {etree.QName(field).localname: field.text or "" for field in line}
        for line in root.iterfind("ceb:SummaryResult/ceb:SummaryResultList", NS)
    ]


def test_the_official_summary_application_gets_399_a_declaration_number_and_a_valid_ceb792(
    broker, customs, risk_engine, customs_api
):
    accepted = service.submit_message(customs, OFFICIAL, correlation_id="summary-1")
    first, *repeats = accepted.documents
    with workers(broker, customs, risk_engine):
        receipt = wait_for(lambda: _decided(customs, first.reference), timeout_s=15)
        for repeat in repeats:  # the sample repeats one application ten times
            wait_for(lambda r=repeat: _decided(customs, r.reference), timeout_s=15)
        second = _submit(customs, _application("C201805080002", ["Invt20180507000003"]))
        second_receipt = wait_for(lambda: _decided(customs, second), timeout_s=15)

    assert receipt.return_status == 399, receipt.return_info
    assert [service.receipt_view(customs, r.reference).return_status for r in repeats] == [100] * 9
    root = _result_xml(customs, first.reference)
    entry_id, sum_no = _head_field(root, "entryId"), _head_field(root, "sumNo")
    assert ENTRY_ID.fullmatch(entry_id)
    assert SUM_NO.fullmatch(sum_no) and SUM_NO.fullmatch(_head_field(root, "declSeqNo"))
    assert entry_id in receipt.return_info
    assert "Invt20180507000001, Invt20180507000002" in receipt.return_info  # not on record
    assert _lines(root) == []  # customs holds neither inventory: no goods lines to map
    assert receipt.keys["sumNo"] == sum_no  # the CEB702 repeats the summary number
    assert f"<ceb:sumNo>{sum_no}</ceb:sumNo>" in receipt.as_xml().decode()

    assert second_receipt.return_status == 399, second_receipt.return_info
    second_root = _result_xml(customs, second)
    assert ENTRY_ID.fullmatch(_head_field(second_root, "entryId"))
    assert _head_field(second_root, "entryId") != entry_id
    assert _head_field(second_root, "sumNo") != sum_no

    summary = customs_api.get(f"/v1/summaries/{first.reference}").json()
    assert (summary["status"], summary["entryId"], summary["sumNo"]) == (
        "concluded",
        entry_id,
        sum_no,
    )
    assert summary["notOnRecord"] == ["Invt20180507000001", "Invt20180507000002"]
    xml = customs_api.get(f"/v1/summaries/{first.reference}/result?format=xml")
    assert xml.headers["content-type"] == "application/xml"
    assert etree.tostring(etree.fromstring(xml.content)) == etree.tostring(root)
    refused = customs_api.get(f"/v1/summaries/{repeats[0].reference}")
    assert refused.json()["status"] == "refused"
    missing = customs_api.get(f"/v1/summaries/{repeats[0].reference}/result?format=xml")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_held_export_inventories_become_result_lines_and_are_summarised_only_once(
    broker, customs, risk_engine
):
    inventories = [
        _export_inventory(
            "15012024E000000001",
            "COP1",
            [("8541401000", "小米盒子"), ("9503008900", "积木")],
            grossWeight="2.5",
            netWeight="2.0",
        ),
        _export_inventory(
            "15012024E000000002",
            "COP2",
            [("8541401000", "小米盒子")],
            grossWeight="1.25",
            netWeight="1.00001",
        ),
        _export_inventory("15012024E000000003", "COP3", [("9503008900", "积木")]),
    ]
    split = [
        _application("SPLIT1", [f"Invt-SPLIT-{seq}"], msgCount="2", msgSeqNo=str(seq))
        for seq in (1, 2)
    ]
    with workers(broker, customs, risk_engine):
        held = [_submit(customs, body) for body in inventories]
        for reference in held:
            wait_for(lambda r=reference: _decided(customs, r), timeout_s=15)
        listing = _submit(
            customs,
            _application(
                "LIST1",
                ["15012024E000000001", "15012024E000000002", "Invt20180507000001"],
                itemNameFlag="1",
            ),
        )
        wait_for(lambda: _decided(customs, listing), timeout_s=15)
        again = _submit(customs, _application("LIST2", ["15012024E000000002"]))
        window = _submit(
            customs,
            _application(
                "WINDOW1",
                ["15012024E000000001"],  # ignored: a window is given
                startTime="20240901000000",
                endTime="20240901235959",
            ),
        )
        wait_for(lambda: _decided(customs, again) and _decided(customs, window), timeout_s=15)
        empty_window = _submit(
            customs,
            _application("WINDOW2", startTime="20240901000000", endTime="20240901235959"),
        )
        parts = [_submit(customs, body) for body in split]
        wait_for(lambda: all(_decided(customs, r) for r in [empty_window, *parts]), timeout_s=15)

    assert [service.receipt_view(customs, r).return_status for r in held] == [120] * 3
    receipt = service.receipt_view(customs, listing)
    assert receipt.return_status == 399, receipt.return_info
    root = _result_xml(customs, listing)
    assert _lines(root) == [
        {
            "invtNo": "15012024E000000001",
            "logisticsNo": "L-COP1",
            "gseqno": "1",
            "gnum": "1",
            "gcode": "8541401000",
        },
        {
            "invtNo": "15012024E000000001",
            "logisticsNo": "L-COP1",
            "gseqno": "2",
            "gnum": "2",
            "gcode": "9503008900",
        },
        {  # the same goods code and name: summed into the same declaration line
            "invtNo": "15012024E000000002",
            "logisticsNo": "L-COP2",
            "gseqno": "1",
            "gnum": "1",
            "gcode": "8541401000",
        },
    ]
    assert (_head_field(root, "grossWeight"), _head_field(root, "netWeight")) == (
        "3.75",
        "3.00001",
    )
    assert "Invt20180507000001" in receipt.return_info

    refused = service.receipt_view(customs, again)
    assert refused.return_status == 100
    assert "15012024E000000002 is already summarised in " + _head_field(root, "sumNo") in (
        refused.return_info
    )
    # the window takes the consignor's one inventory not summarised yet; the list is ignored
    window_root = _result_xml(customs, window)
    assert [line["invtNo"] for line in _lines(window_root)] == ["15012024E000000003"]
    assert service.receipt_view(customs, empty_window).return_status == 100
    assert "left to summarise" in service.receipt_view(customs, empty_window).return_info

    # a split application: the first part waits, the last concludes both under one declaration
    first_part, last_part = (service.receipt_view(customs, r) for r in parts)
    assert first_part.return_status == 399 and "part 1 of 2" in first_part.return_info
    assert last_part.return_status == 399, last_part.return_info
    first_root, last_root = (_result_xml(customs, r) for r in parts)
    assert _head_field(first_root, "entryId") == _head_field(last_root, "entryId")
    assert [_head_field(r, "msgSeqNo") for r in (first_root, last_root)] == ["1", "2"]
    assert [line["invtNo"] for line in _lines(last_root)] == []  # by number only
    assert "Invt-SPLIT-1, Invt-SPLIT-2" in last_part.return_info
    assert export_views.summary_view(customs, parts[0]).status == "concluded"


def _head(**overrides: str | None) -> dict[str, str]:
    return builders.summary_apply_head(**overrides)


@pytest.mark.parametrize(
    ("head", "rule", "why"),
    [
        (_head(startTime="20240902000000", endTime="20240901000000"), "X18", "before startTime"),
        (_head(endTime=None), "X18", "come together"),
        (_head(startTime="20240931000000"), "X18", "not a real"),
        (_head(msgCount="1", msgSeqNo="2"), "X19", "msgSeqNo 2"),
        (_head(msgCount="3", msgSeqNo="4"), "X19", "msgSeqNo 4"),
    ],
)
def test_an_application_with_a_broken_window_or_part_number_is_refused_with_100_naming_the_rule(
    head: Mapping[str, str], rule: str, why: str
):
    decision = export.application_refusal(head)
    assert decision is not None
    assert decision.return_status == 100 and not decision.accepted
    assert rule in decision.return_info and why in decision.return_info


def test_an_application_with_a_sound_window_or_a_middle_part_is_not_refused_on_its_own():
    assert export.application_refusal(_head()) is None
    assert export.application_refusal(_head(startTime=None, endTime=None)) is None
    assert export.application_refusal(_head(msgCount="3", msgSeqNo="2")) is None


def test_a_summary_result_the_xsd_would_refuse_is_never_rendered():
    head = {
        "guid": "5B1C63C4-4B5E-4C2B-9E43-6F0A4A3E9B10",
        "customsCode": "1501",
        "sumNo": "S20240901000000001",
        "opDate": "20240901120000000",
        "declSeqNo": "S20240901000000001",
        "entryId": "150120240000000001",
        "decState": "A",
        "agentCode": CONSIGNOR,
        "agentName": "a",
        "ebcCode": CONSIGNOR,
        "ebcName": "e",
        "declAgentCode": CONSIGNOR,
        "declAgentName": "d",
        "grossWeight": "1",
        "netWeight": "1",
        "msgCount": "1",
        "msgSeqNo": "1",
    }
    line = {"invtNo": "I1", "logisticsNo": "L1", "gseqno": "1", "gnum": "1", "gcode": "85414010"}
    guid = "0F6C2E1A-77B4-4C1B-8D5E-2A9B3C4D5E6F"
    good = export_views.SummaryResultMessage("ref", guid, json.dumps(head), "[]")
    assert schema_for("export").validate(etree.fromstring(good.as_xml()))
    bad = export_views.SummaryResultMessage("ref", guid, json.dumps(head), json.dumps([line]))
    with pytest.raises(ValueError, match="not XSD-valid"):
        bad.as_xml()


PRODUCER_A, PRODUCER_B = "3301960001", "3301960002"


def _declarations(root: etree._Element) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """Each SummaryResult of a CEB792: its head fields and its lines."""
    found = []
    for result in root.iterfind("ceb:SummaryResult", NS):
        head = result.find("ceb:SummaryResultHead", NS)
        assert head is not None
        found.append(
            (
                {etree.QName(f).localname: f.text or "" for f in head},
                [
                    {etree.QName(f).localname: f.text or "" for f in line}
                    for line in result.iterfind("ceb:SummaryResultList", NS)
                ],
            )
        )
    return found


def test_summary_flag_2_makes_one_declaration_per_producer_in_one_ceb792(
    broker, customs, risk_engine, customs_api
):
    inventories = [
        _export_inventory(
            "15012024E000000011",
            "P1",
            [("8541401000", "小米盒子"), ("9503008900", "积木")],
            grossWeight="2",
            netWeight="1.5",
            ownerCode=PRODUCER_A,
            ownerName="甲工厂",
        ),
        _export_inventory(
            "15012024E000000012",
            "P2",
            [("8541401000", "小米盒子")],
            grossWeight="3",
            netWeight="2.5",
            ownerCode=PRODUCER_B,
            ownerName="乙工厂",
        ),
        _export_inventory(
            "15012024E000000013",
            "P3",
            [("8541401000", "小米盒子")],
            grossWeight="1",
            netWeight="0.5",
            ownerCode=PRODUCER_A,
            ownerName="甲工厂",
        ),
    ]
    numbers = ["15012024E000000011", "15012024E000000012", "15012024E000000013"]
    with workers(broker, customs, risk_engine):
        held = [_submit(customs, body) for body in inventories]
        for reference in held:
            wait_for(lambda r=reference: _decided(customs, r), timeout_s=15)
        by_producer = _submit(
            customs, _application("FLAG2", numbers, summaryFlag="2", itemNameFlag="1")
        )
        unknown = _submit(customs, _application("FLAG2-X", ["Invt20180507000009"], summaryFlag="2"))
        wait_for(lambda: _decided(customs, by_producer) and _decided(customs, unknown), 15)

    receipt = service.receipt_view(customs, by_producer)
    assert receipt.return_status == 399, receipt.return_info
    root = _result_xml(customs, by_producer)  # one CEB792, XSD-valid, two declarations
    (head_a, lines_a), (head_b, lines_b) = _declarations(root)
    assert head_a["sumNo"] == head_b["sumNo"] == receipt.keys["sumNo"]
    assert ENTRY_ID.fullmatch(head_a["entryId"]) and ENTRY_ID.fullmatch(head_b["entryId"])
    assert head_a["entryId"] != head_b["entryId"]
    assert head_a["declSeqNo"] != head_b["declSeqNo"]
    assert PRODUCER_A in head_a["note"] and "甲工厂" in head_a["note"]
    assert PRODUCER_B in head_b["note"]
    assert (head_a["grossWeight"], head_a["netWeight"]) == ("3", "2.0")
    assert (head_b["grossWeight"], head_b["netWeight"]) == ("3", "2.5")
    # each declaration numbers its own lines: the same goods are line 1 of both
    assert [(line["invtNo"], line["gnum"], line["gseqno"]) for line in lines_a] == [
        ("15012024E000000011", "1", "1"),
        ("15012024E000000011", "2", "2"),
        ("15012024E000000013", "1", "1"),
    ]
    assert [(line["invtNo"], line["gseqno"]) for line in lines_b] == [("15012024E000000012", "1")]
    assert head_a["entryId"] in receipt.return_info and head_b["entryId"] in receipt.return_info
    assert "2 customs declarations" in receipt.return_info

    summary = customs_api.get(f"/v1/summaries/{by_producer}").json()
    assert summary["summaryFlag"] == "2"
    assert [(d["ownerCode"], d["entryId"], d["inventories"]) for d in summary["declarations"]] == [
        (PRODUCER_A, head_a["entryId"], ["15012024E000000011", "15012024E000000013"]),
        (PRODUCER_B, head_b["entryId"], ["15012024E000000012"]),
    ]
    result = customs_api.get(f"/v1/summaries/{by_producer}/result").json()
    assert [r["head"]["entryId"] for r in result["results"]] == [
        head_a["entryId"],
        head_b["entryId"],
    ]

    refused = service.receipt_view(customs, unknown)
    assert refused.return_status == 100
    assert (
        "inventory Invt20180507000009 is not on customs' record: summaryFlag 2 makes one "
        "declaration per producer"
    ) in refused.return_info
