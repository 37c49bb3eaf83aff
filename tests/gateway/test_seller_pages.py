"""The sellers' pages: filing with pre-flight checks, hosted signing, keys, bulk upload."""

from __future__ import annotations

import csv
import io
import re

import pytest

from gateway.domain import filing as forms
from tests.support import wait_for

EBP, EBC = "3301960001", "3301960002"


@pytest.fixture
def seller(platform):
    tenant = platform.tenant(
        "某跨境电商企业", [EBP, EBC], ["ecommerce_platform", "ecommerce_enterprise"]
    )
    password = platform.user("seller1", "tenant", tenantId=tenant.id, language="en")
    platform.sign_in("seller1", password)
    return tenant


def _form(kind: str, **changes: str) -> dict[str, str]:
    values = {f.name: f.example for f in forms.FORMS[kind]}
    values.update(changes)
    return {"kind": kind, **values}


def _post(platform, path: str, data: dict, page: str = "/seller/file", **kwargs):
    return platform.client.post(
        path, data={**data, "csrf_token": platform.csrf(page)}, follow_redirects=False, **kwargs
    )


def test_a_form_without_its_csrf_token_is_refused(platform, seller):
    answer = platform.client.post("/seller/file", data={**_form("order"), "action": "submit"})
    assert answer.status_code == 403
    assert (
        "ORD20240901000001"
        not in platform.client.get("/api/v1/receipts", headers=seller.auth()).text
    )


def test_pages_are_for_signed_in_sellers(platform):
    answer = platform.client.get("/seller", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_a_seller_files_an_order_and_a_hosted_signed_inventory_with_preflight(platform, seller):
    filed = _post(platform, "/seller/file", {**_form("order"), "action": "submit"})
    assert filed.status_code == 200, filed.text
    assert re.search(r'class="reference">[0-9a-f-]{36}<', filed.text)

    no_identity = _post(platform, "/seller/file", {**_form("inventory"), "action": "submit"})
    assert no_identity.status_code == 422
    assert "hosted-signing" in no_identity.text

    created = _post(platform, "/seller/signing-identity", {}, page="/seller/keys")
    assert created.status_code == 303
    identity = platform.client.get("/api/v1/signing-identity", headers=seller.auth()).json()
    assert sorted(identity["identity"]["codes"]) == [EBP, EBC]
    audit = platform.client.get("/api/v1/admin/audit", headers=platform.as_admin()).json()
    assert "signing_identity.create" in {e["action"] for e in audit["entries"]}
    replaced = _post(platform, "/seller/signing-identity", {}, page="/seller/keys")
    assert replaced.status_code == 303
    registered = platform.client.get(
        f"/api/v1/certificates?enterpriseCode={EBC}", headers=seller.auth()
    ).json()["certificates"]
    assert len(registered) == 2  # the first identity's certificate is revoked at customs
    assert sorted(c["revokedAt"] is None for c in registered) == [False, True]

    checked = _post(
        platform,
        "/seller/file",
        {**_form("inventory", **{"line.qty": "3", "line.totalPrice": "300.00"}), "action": "check"},
    )
    assert checked.status_code == 200, checked.text
    assert 'id="preflight-problems"' in checked.text
    assert 'data-field="line.qty"' in checked.text or 'data-field="line.totalPrice"' in checked.text
    assert 'id="tax-estimate"' in checked.text and 'id="quota"' in checked.text

    good = _post(platform, "/seller/file", {**_form("inventory"), "action": "check"})
    assert 'id="preflight-ok"' in good.text, good.text
    assert "19.11" in good.text  # the tax estimate of the dossier's example

    submitted = _post(platform, "/seller/file", {**_form("inventory"), "action": "submit"})
    assert submitted.status_code == 200, submitted.text
    reference = re.search(r'class="reference">([0-9a-f-]{36})<', submitted.text).group(1)
    receipt = platform.client.get(f"/api/v1/receipts/{reference}", headers=seller.auth())
    assert receipt.status_code == 200 and receipt.json()["returnStatus"] == 120  # on arrival


def test_a_format_error_shows_next_to_its_field_and_nothing_is_filed(platform, seller):
    answer = _post(platform, "/seller/file", {**_form("order", currency="14"), "action": "submit"})
    assert answer.status_code == 422
    assert 'data-field="currency"' in answer.text
    receipts = platform.client.get("/api/v1/receipts", headers=seller.auth()).json()
    assert receipts["receipts"] == []


def test_a_document_naming_none_of_the_sellers_codes_is_refused(platform, seller):
    answer = _post(
        platform,
        "/seller/file",
        {**_form("order", ebpCode="9999999999", ebcCode="9999999998"), "action": "check"},
    )
    assert answer.status_code == 422
    assert "own-code" in answer.text


def test_the_home_page_lists_own_receipts_and_a_foreign_seller_sees_none(platform, seller):
    _post(platform, "/seller/file", {**_form("order"), "action": "submit"})
    home = platform.client.get("/seller?lang=en")
    assert "ORD20240901000001" in home.text
    filtered = platform.client.get("/seller?lang=en&orderNo=NOPE&status=800")
    assert 'id="declarations"' in filtered.text
    bad_filter = platform.client.get("/seller?lang=en&status=abc")
    assert "status: a return status is a number" in bad_filter.text

    other = platform.tenant("Other seller", ["3301960ABC"], ["ecommerce_enterprise"])
    password = platform.user("other1", "tenant", tenantId=other.id)
    platform.client.cookies.clear()
    platform.sign_in("other1", password)
    foreign = platform.client.get("/seller")
    assert foreign.status_code == 200
    assert "ORD20240901000001" not in foreign.text
    assert platform.client.get("/seller/declarations/whatever").status_code == 404


def test_keys_are_issued_once_rotated_and_revoked_from_the_page(platform, seller):
    issued = _post(platform, "/seller/keys", {"name": "erp"}, page="/seller/keys")
    key = re.search(r'id="issued-key">(cwk_[^<]+)<', issued.text).group(1)
    assert (
        platform.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    client_id = key.split("_")[1]
    rotated = _post(platform, f"/seller/keys/{client_id}/rotate", {}, page="/seller/keys")
    assert re.search(r'id="issued-key">(cwk_[^<]+)<', rotated.text).group(1) != key
    revoked = _post(platform, f"/seller/keys/{client_id}/revoke", {}, page="/seller/keys")
    assert revoked.status_code == 303
    assert "revoked" in platform.client.get("/seller/keys?lang=en").text


def _sheet(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=forms.SHEET_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def test_an_upload_files_the_good_rows_and_reports_each_bad_one(platform, seller):
    good = _form("order")
    second = _form("order", orderNo="ORD20240901000002")
    bad = _form("order", orderNo="ORD20240901000003", currency="14")
    body = _sheet(good, bad, {"kind": "parcel"}, second)
    answer = platform.client.post(
        "/seller/upload",
        data={"csrf_token": platform.csrf("/seller/upload")},
        files={"file": ("orders.csv", body, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    job = answer.headers["location"]

    status = wait_for(
        lambda: (s := platform.client.get(f"{job}/status").json())["state"] == "done" and s,
        timeout_s=60,
    )
    assert (status["filed"], status["invalid"], status["refused"]) == (2, 2, 0)
    errors = {r["row"]: r["errors"] for r in status["rows"] if r["errors"]}
    assert errors[3][0]["field"] == "currency"
    assert errors[4][0] == {
        "field": "kind",
        "rule": "document-kind",
        "message": "kind is one of order, payment, waybill, inventory",
    }
    assert {r["row"] for r in status["rows"] if r["reference"]} == {2, 5}
    page = platform.client.get(f"{job}?lang=en")
    assert 'data-row="3"' in page.text and "currency" in page.text


def test_templates_download_and_a_sheet_without_kind_is_refused(platform, seller):
    csv_template = platform.client.get("/seller/upload/template.csv")
    assert csv_template.text.lstrip("\ufeff").startswith("kind,orderNo")
    xlsx = platform.client.get("/seller/upload/template.xlsx")
    assert xlsx.content[:2] == b"PK"
    refused = platform.client.post(
        "/seller/upload",
        data={"csrf_token": platform.csrf("/seller/upload")},
        files={"file": ("x.csv", b"orderNo\nA\n", "text/csv")},
    )
    assert refused.status_code == 422
    assert "file (header)" in refused.text
