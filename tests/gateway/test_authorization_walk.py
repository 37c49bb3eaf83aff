"""Every route that takes an object id, with every verb, as several foreign tenants and as a
foreign seller signed in to the pages: only 403 or 404 (405 for verbs a route does not have),
and no field of the object in the answer.

The routes are read from the application, so a new route is walked without editing this test;
a route whose id this test does not know how to fill fails it until it is taught.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from customs import clearance_service
from customs.db import Certificate, Document
from tests.customs import builders
from tests.support import wait_for
from tests.test_flow import submit_set, workers

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Path parameters that do not name an object someone owns.
NOT_OWNED = {"language"}


def _routes(app):
    def walk(routes, prefix=""):
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif getattr(route, "methods", None):
                yield prefix + route.path, frozenset(route.methods)

    found: dict[str, frozenset[str]] = {}
    for path, methods in walk(app.routes):
        if "{" in path:
            found[path] = found.get(path, frozenset()) | methods
    return sorted(found.items())


def test_foreign_callers_get_only_403_or_404_on_every_object_route(
    broker, customs, risk_engine, platform
):
    owner = platform.tenant(
        "Owner",
        [builders.EBP_CODE, builders.EBC_CODE, builders.PAY_CODE, builders.LOGISTICS_CODE],
        roles=["ecommerce_platform", "ecommerce_enterprise"],
    )
    with workers(broker, customs, risk_engine):
        references = submit_set(customs, builders.declaration_set())
        wait_for(
            lambda: clearance_service.find_declarations(customs, order_no=builders.ORDER_NO),
            timeout_s=20,
        )
    (declaration,) = clearance_service.find_declarations(customs, order_no=builders.ORDER_NO)
    with Session(customs.engine) as session:
        inventory = session.get(Document, references["inventory"])
        certificate_id = session.execute(select(Certificate.id)).scalars().first()
    subscription = platform.client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "eventTypes": ["customs.clearance_changed.v1"]},
        headers=owner.auth(),
    ).json()
    owner_password = platform.user("owner.seller", "tenant", tenantId=owner.id)
    platform.sign_in("owner.seller", owner_password)
    upload = platform.client.post(
        "/seller/upload",
        data={"csrf_token": platform.csrf("/seller/upload")},
        files={"file": ("x.csv", b"kind\nparcel\n", "text/csv")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    platform.client.cookies.clear()
    ids = {
        "job_id": upload.headers["location"].rsplit("/", 1)[-1],
        "reference": references["inventory"],
        "submission_id": inventory.submission_id,
        "certificate_id": str(certificate_id),
        "declaration_id": declaration["id"],
        "tenant_id": owner.id,
        "client_id": owner.client_id,
        "subscription_id": subscription["id"],
        "delivery_id": "1",
        "version": "rules-2026.11.1",
    }
    secrets = [builders.ORDER_NO, builders.EBC_CODE, builders.LOGISTICS_NO, "Owner"]
    foreigners = [
        platform.tenant("Foreign platform", ["3301960ABC"], roles=["ecommerce_platform"]),
        platform.tenant("Foreign carrier", ["3301980XYZ"], roles=["logistics_company"]),
    ]
    seller_password = platform.user(
        "foreign.seller", "tenant", tenantId=foreigners[0].id, language="en"
    )
    routes = _routes(platform.client.app)
    assert len(routes) >= 15

    def check(answer, method, path):
        assert answer.status_code in (403, 404, 405), (method, path, answer.status_code)
        for secret in secrets:
            assert secret not in answer.text, (method, path, secret)

    walked = 0
    for template, methods in routes:
        names = re.findall(r"{(\w+)}", template)
        unknown = [n for n in names if n not in ids and n not in NOT_OWNED]
        assert not unknown, f"teach this test the ids of {unknown} ({template})"
        if any(n in NOT_OWNED for n in names):
            continue
        path = template.format(**ids)
        if not path.startswith("/api/"):
            continue  # pages take a browser session, walked below as a signed-in foreign seller
        for method in VERBS:
            for foreigner in foreigners:
                answer = platform.client.request(
                    method,
                    path,
                    headers=foreigner.auth(),
                    json={"reason": "x", "name": "x"},
                    follow_redirects=False,
                )
                if method not in methods:
                    assert answer.status_code == 405, (method, path, answer.status_code)
                    continue
                check(answer, method, path)
                walked += 1
    platform.sign_in("foreign.seller", seller_password)
    for template, methods in routes:
        if any(n in NOT_OWNED for n in re.findall(r"{(\w+)}", template)):
            continue
        path = template.format(**ids)
        for method in sorted(methods - {"HEAD"}):
            answer = platform.client.request(
                method,
                path,
                data={"reason": "x", "action": "release"},
                follow_redirects=False,
            )
            check(answer, method, path)
            walked += 1
    assert walked > 40
    # The owner itself does see its declaration: the ids above are the real ones.
    mine = platform.client.get(f"/api/v1/declarations/{declaration['id']}", headers=owner.auth())
    assert mine.status_code == 200
