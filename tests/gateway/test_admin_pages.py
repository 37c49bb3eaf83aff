"""An administrator registers an enterprise and its seller through the page; all audited."""

from __future__ import annotations

import re


def test_an_administrator_registers_an_enterprise_and_a_seller_who_can_then_sign_in(platform):
    password = platform.user("root.admin", "admin")
    platform.sign_in("root.admin", password)
    csrf = platform.csrf("/admin")
    made = platform.client.post(
        "/admin/tenants",
        data={
            "csrf_token": csrf,
            "name": "杭州优选",
            "codes": "3301960101 3301960102",
            "roles": ["ecommerce_platform", "ecommerce_enterprise"],
        },
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin?notice=tenant"
    page = platform.client.get("/admin").text
    assert "杭州优选" in page and "3301960101, 3301960102" in page
    tenant_id = re.search(r'<option value="([0-9a-f-]{36})">杭州优选</option>', page).group(1)
    clash = platform.client.post(
        "/admin/tenants",
        data={
            "csrf_token": csrf,
            "name": "Copycat",
            "codes": "3301960101",
            "roles": ["ecommerce_platform"],
        },
        follow_redirects=False,
    )
    assert "error=" in clash.headers["location"] and "3301960101" in clash.headers["location"]
    added = platform.client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "login": "seller.zhao",
            "displayName": "赵卖家",
            "password": "seller-password-1",
            "kind": "tenant",
            "tenantId": tenant_id,
            "language": "zh_CN",
        },
        follow_redirects=False,
    )
    assert added.headers["location"] == "/admin?notice=user"
    audit = platform.client.get("/admin").text
    assert "tenant.create" in audit and "user.create" in audit
    platform.client.cookies.clear()
    platform.sign_in("seller.zhao", "seller-password-1")
    me = platform.client.get("/api/v1/me").json()
    assert me["codes"] == ["3301960101", "3301960102"] and me["kind"] == "tenant"


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(platform):
    password = platform.user("officer.lock", "officer", officerRole="reviewer")
    form = platform.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    statuses = []
    for attempt in ["wrong-1", "wrong-2", "wrong-3", "wrong-4", "wrong-5", password]:
        answer = platform.client.post(
            "/login",
            data={"login": "officer.lock", "password": attempt, "csrf_token": token},
            follow_redirects=False,
        )
        statuses.append(answer.status_code)
        token = re.search(r'name="csrf_token" value="([^"]+)"', answer.text).group(1)
    assert statuses == [401, 401, 401, 401, 423, 423]
    unknown = platform.client.post(
        "/login",
        data={"login": "nobody", "password": "x", "csrf_token": token},
        follow_redirects=False,
    )
    assert unknown.status_code == 401  # the same answer as a wrong password
    forged = platform.client.post(
        "/login", data={"login": "officer.lock", "password": password, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
