"""The gateway's rules as plain functions: keys, signatures, rate limits, webhooks, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import credentials, signing, webhooks
from gateway.domain.access import Kind, Principal, scope_header
from gateway.domain.ratelimit import take


def test_an_api_key_parses_back_to_its_client_and_only_its_secret_matches():
    new = credentials.new_api_key()
    client_id, secret = credentials.parse_api_key(new.key)
    assert client_id == new.client_id
    assert credentials.secret_matches(secret, new.secret_hash)
    other = secret[:-1] + ("B" if secret[-1] == "A" else "A")
    assert not credentials.secret_matches(other, new.secret_hash)
    assert credentials.parse_api_key("cwk_short_x") is None
    rotated = credentials.new_api_key(client_id)
    assert rotated.client_id == client_id and rotated.key != new.key


def _check(**overrides):
    secret = "s3cret"
    values = {
        "timestamp": "1700000000",
        "nonce": "nonce-0001",
        "method": "POST",
        "target": "/api/v1/messages",
        "body": b"{}",
    }
    signature = signing.sign_request(secret, **values)
    values.update(overrides)
    return signing.check_request(
        secret,
        signature=overrides.pop("signature", signature),
        now=overrides.pop("now", 1700000100.0),
        **{k: v for k, v in values.items() if k not in ("signature", "now")},
    )


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({}, None),
        ({"now": 1700000301.0}, "window"),
        ({"now": 1699999699.0}, "window"),
        ({"now": 1700000300.0}, None),
        ({"body": b"{ }"}, "hmac-sha256"),
        ({"target": "/api/v1/messages?x=1"}, "hmac-sha256"),
        ({"method": "PUT"}, "hmac-sha256"),
        ({"nonce": "short"}, "required"),
        ({"timestamp": "soon"}, "required"),
        ({"signature": "v1=00"}, "hmac-sha256"),
    ],
)
def test_a_signed_request_is_refused_for_exactly_the_broken_rule(overrides, rule):
    error = _check(**overrides)
    assert (error.rule if error else None) == rule


def test_a_token_bucket_allows_its_burst_then_refills_at_its_rate():
    bucket = None
    allowed = []
    for _ in range(4):
        verdict = take(bucket, now=100.0, rate=2.0, burst=3)
        bucket = verdict.bucket
        allowed.append(verdict.allowed)
    assert allowed == [True, True, True, False]
    assert verdict.retry_after_s == 1
    assert take(bucket, now=100.5, rate=2.0, burst=3).allowed  # one token back after 0.5 s


def test_webhook_retries_double_up_to_an_hour_and_stop_after_a_day():
    assert [webhooks.retry_delay_s(n) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    created = datetime(2026, 11, 23, tzinfo=UTC)
    assert webhooks.next_attempt(created, created + timedelta(hours=1), 3) == created + timedelta(
        hours=1, seconds=120
    )
    assert webhooks.next_attempt(created, created + timedelta(hours=23, minutes=59), 9) is None


def test_a_webhook_signature_is_the_hmac_of_timestamp_and_body():
    import hashlib
    import hmac

    header = signing.sign_webhook("whsec_x", timestamp=1700000000, body=b'{"a":1}')
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_the_scope_sent_to_services_follows_the_kind_of_caller():
    tenant = Principal(Kind.TENANT, "client:1", "t1", frozenset({"B", "A"}))
    assert scope_header(tenant) == "codes=A,B"
    assert scope_header(Principal(Kind.OFFICER, "li")) == "all"
    assert scope_header(Principal(Kind.ADMIN, "root")) == "none"
    assert scope_header(Principal(Kind.TENANT, "client:2", "t2")) == "none"
