"""A seller works entirely from the pages, in Chinese and in English, in a real browser."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.domain import filing as forms
from tests.browser.conftest import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EBP, EBC, PAY, CARRIER = "3301960001", "3301960002", "3301980001", "3301980002"


@pytest.fixture(scope="module")
def seller(live):
    roles = ["ecommerce_platform", "ecommerce_enterprise"]
    tenant = live.tenant("某跨境电商企业", [EBP, EBC], roles)
    return "seller", live.user("seller", "tenant", tenantId=tenant["id"])


def _file_as(live, key: str, kind: str, sender: str) -> None:
    document = forms.document(kind, {f.name: f.example for f in forms.FORMS[kind]})
    document["head"]["guid"] = "6A0E2C55-3B1D-4F7E-8C21-9D4B7A1E0F3" + kind[0].upper()
    document["head"]["appTime"] = "20240901101600"
    answer = live.http.post(
        "/api/v1/messages",
        json=forms.message(kind, [document], sender=sender, sender_name="某公司"),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 202, answer.text


def test_a_seller_files_a_complete_import_declaration_and_sees_it_released(live, page, seller):
    payer = live.tenant("某支付公司", [PAY], ["payment_company"])
    carrier = live.tenant("某物流公司", [CARRIER], ["logistics_company"])
    _file_as(live, payer["key"], "payment", PAY)
    _file_as(live, carrier["key"], "waybill", CARRIER)

    sign_in(page, *seller)
    page.goto("/seller")
    shot(page, "seller-home-zh")
    page.goto("/seller/keys")
    page.click("#create-identity")
    page.wait_for_selector("#signing-identity")
    shot(page, "seller-keys-zh")

    page.goto("/seller/file?kind=order")
    page.click("#submit-button")
    page.wait_for_selector("#submitted")
    shot(page, "seller-file-order-zh")

    page.goto("/seller/file?kind=inventory&lang=en")
    page.click("#check-button")
    page.wait_for_selector("#preflight")
    assert page.is_visible("#preflight-ok"), page.inner_text("#preflight")
    assert "19.11" in page.inner_text("#tax-estimate")
    shot(page, "seller-file-inventory-check-en")
    page.click("#submit-button")
    page.wait_for_selector("#submitted")
    shot(page, "seller-file-inventory-submitted-en")

    for _ in range(120):  # the workers clear it within seconds; reload until it shows
        page.goto("/seller?lang=en&orderNo=ORD20240901000001")
        if "(800)" in page.inner_text("#declarations"):
            break
        page.wait_for_timeout(500)
    shot(page, "seller-home-en")
    assert "(800)" in page.inner_text("#declarations"), page.inner_text("#declarations")
    page.click("#declarations a")
    page.wait_for_selector("#declaration-status")
    assert "放行 (800)" in page.inner_text("#declaration-status")  # the seller's language
    shot(page, "seller-declaration-zh")
    page.click("#lang-en")
    page.wait_for_selector("#declaration-status")
    assert "Released (800)" in page.inner_text("#declaration-status")
    shot(page, "seller-declaration-en")


def test_a_seller_uploads_a_file_with_good_and_bad_rows(live, page, seller, tmp_path):
    rows = [
        {"kind": "order", **{f.name: f.example for f in forms.FORMS["order"]}},
        {"kind": "order", **{f.name: f.example for f in forms.FORMS["order"]}},
        {"kind": "parcel"},
    ]
    rows[0]["orderNo"] = "ORD20240902000001"
    rows[1].update(orderNo="ORD20240902000002", currency="14")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=forms.SHEET_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    sheet = tmp_path / "orders.csv"
    sheet.write_text(out.getvalue(), encoding="utf-8")

    sign_in(page, *seller)
    page.goto("/seller/upload?lang=en")
    shot(page, "seller-upload-en")
    page.set_input_files("#file", str(sheet))
    page.click("#upload-button")
    page.wait_for_selector("#progress")
    page.wait_for_selector("#progress-text[data-state=done]", timeout=60_000)
    assert page.locator(".row-filed").count() == 1
    assert page.locator(".row-error[data-row='3']").count() >= 1
    assert page.locator(".row-error[data-row='4']").count() == 1
    assert "逐行报告" in page.content()  # the seller's language
    shot(page, "seller-upload-report-zh")
    page.click("#lang-en")
    page.wait_for_selector("#report")
    assert "Report per row" in page.content()
    shot(page, "seller-upload-report-en")
