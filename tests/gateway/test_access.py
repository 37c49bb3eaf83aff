"""Who may call what: keys, tokens, signatures, tenants' scopes, officers, idempotency, limits."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearway.database import make_engine
from clearway.idempotency import request_hash
from customs.db import Submission, idempotency
from gateway.domain.signing import sign_request
from schemas.envelope import utc_now
from tests.gateway.conftest import make_platform
from tests.support import sample, unsigned

XML = {"Content-Type": "application/xml"}
SENDER = "1101180326"
ORDER = unsigned(sample("import", "CEB311Message"))


def _submit(platform, headers, body=ORDER):
    return platform.client.post("/api/v1/messages", content=body, headers={**XML, **headers})


def test_no_credentials_and_bad_credentials_get_401_with_the_bearer_challenge(platform):
    for headers in ({}, {"Authorization": "Bearer cwk_nonsense"}, {"X-API-Key": "x"}):
        answer = _submit(platform, headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == "application/problem+json"


def test_a_tenant_sees_its_own_documents_and_a_foreign_tenant_sees_nothing(platform):
    mine = platform.tenant("Sender", [SENDER])
    foreign = platform.tenant("Someone else", ["3301960ABC"])
    accepted = _submit(platform, mine.auth())
    assert accepted.status_code == 202, accepted.text
    reference = accepted.json()["documents"][0]["reference"]
    submission = accepted.json()["submissionId"]
    for path in (f"/api/v1/receipts/{reference}", f"/api/v1/submissions/{submission}"):
        assert platform.client.get(path, headers=mine.auth()).status_code == 200
        answer = platform.client.get(path, headers=foreign.auth())
        assert answer.status_code == 404, path
        assert "order20160321116421002" not in answer.text
    pulled = platform.client.get("/api/v1/receipts", headers=foreign.auth()).json()
    assert pulled["receipts"] == []
    own = platform.client.get("/api/v1/receipts", headers=mine.auth()).json()
    assert {r["reference"] for r in own["receipts"]} >= {reference}


def test_a_tenant_cannot_file_for_an_enterprise_code_that_is_not_its_own(platform):
    foreign = platform.tenant("Someone else", ["3301960ABC"])
    answer = _submit(platform, foreign.auth())
    assert answer.status_code == 403
    assert answer.json()["errors"][0] == {
        "path": "BaseTransfer/copCode",
        "rule": "own-enterprise-code",
        "value": SENDER,
    }


def test_officers_see_everything_but_file_nothing_and_tenants_take_no_officer_action(platform):
    mine = platform.tenant("Sender", [SENDER])
    reference = _submit(platform, mine.auth()).json()["documents"][0]["reference"]
    password = platform.user("officer.li", "officer", officerRole="reviewer")
    platform.sign_in("officer.li", password)
    assert platform.client.get(f"/api/v1/receipts/{reference}").status_code == 200
    no_csrf = _submit(platform, {})
    assert no_csrf.status_code == 403
    assert "X-CSRF-Token" in no_csrf.json()["detail"]
    csrf = platform.csrf("/officer")
    as_officer = _submit(platform, {"X-CSRF-Token": csrf})
    assert as_officer.status_code == 403
    assert "enterprises" in as_officer.json()["detail"]
    platform.client.cookies.clear()
    decision = platform.client.post(
        f"/api/v1/declarations/{uuid.uuid4()}/decisions",
        json={"action": "release", "officer": "me", "reason": "x"},
        headers=mine.auth(),
    )
    assert decision.status_code == 403


def test_a_revoked_key_stops_working_and_a_rotated_key_replaces_the_old_one(platform):
    mine = platform.tenant("Sender", [SENDER])
    rotated = platform.client.post(f"/api/v1/api-keys/{mine.client_id}/rotate", headers=mine.auth())
    assert rotated.status_code == 200, rotated.text
    new_key = {"Authorization": f"Bearer {rotated.json()['key']}"}
    assert platform.client.get("/api/v1/me", headers=mine.auth()).status_code == 401
    assert platform.client.get("/api/v1/me", headers=new_key).json()["codes"] == [SENDER]
    revoked = platform.client.delete(f"/api/v1/api-keys/{mine.client_id}", headers=new_key)
    assert revoked.status_code == 200
    assert revoked.json()["revokedAt"] is not None
    assert platform.client.get("/api/v1/me", headers=new_key).status_code == 401
    entries = platform.client.get("/api/v1/admin/audit", headers=platform.as_admin()).json()
    actions = [e["action"] for e in entries["entries"]]
    assert {"api_key.rotate", "api_key.revoke", "tenant.create"} <= set(actions)


def test_oauth2_client_credentials_give_a_bearer_token(platform):
    mine = platform.tenant("Sender", [SENDER])
    token = platform.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": mine.client_id,
            "client_secret": mine.key,
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = platform.client.get("/api/v1/me", headers=bearer).json()
    assert me["via"] == "oauth" and me["codes"] == [SENDER]
    wrong = platform.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": mine.client_id,
            "client_secret": mine.key[:-2] + ("yy" if mine.key.endswith("xx") else "xx"),
        },
    )
    assert wrong.status_code == 401
    unsupported = platform.client.post("/oauth/token", data={"grant_type": "password"})
    assert unsupported.status_code == 422
    assert unsupported.json()["errors"][0]["path"] == "grant_type"


def _signed(secret, body, *, nonce=None, timestamp=None, path="/api/v1/messages"):
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or uuid.uuid4().hex
    signature = sign_request(
        secret, timestamp=timestamp, nonce=nonce, method="POST", target=path, body=body
    )
    return {
        "X-Clearway-Timestamp": timestamp,
        "X-Clearway-Nonce": nonce,
        "X-Clearway-Signature": signature,
    }


def test_signed_requests_are_checked_and_a_replayed_nonce_is_refused(platform):
    issued = platform.client.post(
        "/api/v1/admin/tenants",
        json={"name": "Signer", "codes": [SENDER], "roles": ["ecommerce_platform"]},
        headers=platform.as_admin(),
    ).json()
    key = platform.client.post(
        f"/api/v1/admin/tenants/{issued['id']}/api-keys",
        json={"name": "signed", "requireSignature": True},
        headers=platform.as_admin(),
    ).json()
    auth = {"Authorization": f"Bearer {key['key']}"}
    unsigned_answer = _submit(platform, auth)
    assert unsigned_answer.status_code == 401
    assert unsigned_answer.json()["errors"][0]["path"] == "X-Clearway-Timestamp"
    headers = {**auth, **_signed(key["signingSecret"], ORDER)}
    assert _submit(platform, headers).status_code == 202
    replay = _submit(platform, headers)
    assert replay.status_code == 401
    assert replay.json()["errors"][0]["rule"] == "replay"
    stale = _signed(key["signingSecret"], ORDER, timestamp=str(int(time.time()) - 301))
    assert _submit(platform, {**auth, **stale}).json()["errors"][0]["rule"] == "window"
    tampered = _signed(key["signingSecret"], ORDER)
    answer = _submit(platform, {**auth, **tampered}, body=ORDER.replace(b"order2016", b"order2017"))
    assert answer.json()["errors"][0]["rule"] == "hmac-sha256"


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    platform, customs_engine
):
    mine = platform.tenant("Sender", [SENDER])
    key = {"Idempotency-Key": "order-batch-0001", **mine.auth()}
    first = _submit(platform, key)
    again = _submit(platform, key)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    with Session(customs_engine) as session:
        assert len(session.execute(select(Submission)).all()) == 1
        row = session.execute(select(idempotency)).one()
    assert row.state == "done"
    other = _submit(platform, key, body=ORDER.replace(b"order2016", b"order2017"))
    assert other.status_code == 422
    assert other.json()["errors"][0]["path"] == "Idempotency-Key"


def test_a_failed_request_releases_its_key_and_a_concurrent_duplicate_gets_409(
    platform, database_url
):
    mine = platform.tenant("Sender", [SENDER])
    key = {"Idempotency-Key": "retry-me", **mine.auth()}
    assert _submit(platform, key, body=b"<broken").status_code == 400
    assert _submit(platform, key).status_code == 202  # the key was free again
    owner = f"tenant:{mine.id}"
    engine = make_engine(database_url)
    with engine.begin() as conn:  # another request holds this key right now
        conn.execute(
            idempotency.insert().values(
                owner=owner,
                key="in-flight",
                request_hash=request_hash("POST", "/v1/messages", ORDER),
                state="pending",
                created_at=utc_now(),
            )
        )
    engine.dispose()
    busy = _submit(platform, {"Idempotency-Key": "in-flight", **mine.auth()})
    assert busy.status_code == 409
    assert busy.json()["errors"][0]["rule"] == "in-progress"


@pytest.fixture
def tight_platform(customs_url, gateway_database):
    yield from make_platform(customs_url, gateway_database, rate_per_s=0.5, rate_burst=2)


def test_a_client_over_its_rate_gets_429_with_retry_after(tight_platform):
    mine = tight_platform.tenant("Sender", [SENDER])  # admin calls use the admin's bucket
    answers = [tight_platform.client.get("/api/v1/me", headers=mine.auth()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1


def test_every_post_takes_an_idempotency_key_a_certificate_is_registered_once(platform):
    from customs.ceb.signature import SM2_SM3
    from tests.support import Identity

    mine = platform.tenant("Sender", [SENDER])
    body = {"enterpriseCode": SENDER, "certificate": Identity.make(SM2_SM3).pem,
            "algorithms": [SM2_SM3]}  # fmt: skip
    headers = {"Idempotency-Key": "cert-1", **mine.auth()}
    first = platform.client.post("/api/v1/certificates", json=body, headers=headers)
    again = platform.client.post("/api/v1/certificates", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    listed = platform.client.get(
        f"/api/v1/certificates?enterpriseCode={SENDER}", headers=mine.auth()
    ).json()["certificates"]
    assert len(listed) == 1
    made = platform.client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "eventTypes": ["customs.clearance_changed.v1"]},
        headers={"Idempotency-Key": "hook-1", **mine.auth()},
    )
    replayed = platform.client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "eventTypes": ["customs.clearance_changed.v1"]},
        headers={"Idempotency-Key": "hook-1", **mine.auth()},
    )
    assert replayed.json()["id"] == made.json()["id"]
    subscriptions = platform.client.get("/api/v1/webhooks", headers=mine.auth()).json()
    assert len(subscriptions["subscriptions"]) == 1


@pytest.fixture
def small_platform(customs_url, gateway_database):
    yield from make_platform(customs_url, gateway_database, max_body_bytes=1000)


def test_a_signed_body_over_the_cap_is_refused_before_it_is_read_whole(small_platform):
    mine = small_platform.tenant("Sender", [SENDER])
    big = b"<x>" + b"a" * 5000 + b"</x>"
    headers = {**mine.auth(), **_signed("not-checked-yet", big)}
    answer = _submit(small_platform, headers, body=big)
    assert answer.status_code == 413
    assert answer.json()["type"] == "/problems/too-large"
