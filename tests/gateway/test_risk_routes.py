"""Customs staff reach risk through the gateway: reviewers read the rule set, only supervisors
change it (audited under their name), enterprises reach none of it."""

from __future__ import annotations

import json

import pytest

from risk.ruleset_file import default_ruleset_text
from tests.gateway.conftest import make_platform


@pytest.fixture
def staffed(customs_url, gateway_database, risk_url):
    yield from make_platform(customs_url, gateway_database, risk_url)


def _session(platform, login: str, role: str) -> str:
    password = platform.user(login, "officer", officerRole=role)
    platform.client.cookies.clear()
    platform.sign_in(login, password)
    return platform.csrf("/officer")


def test_only_a_supervisor_changes_the_rule_set_and_the_change_names_them(staffed):
    seller = staffed.tenant("Seller", ["3301960002"])
    assert staffed.client.get("/api/v1/risk/ruleset", headers=seller.auth()).status_code == 403
    new = {
        **json.loads(default_ruleset_text()),
        "version": "rules-2026.12.9",
        "high_value": "3000",
    }
    change = {"ruleset": new, "reason": "peak season"}
    csrf = _session(staffed, "reviewer.li", "reviewer")
    assert staffed.client.get("/api/v1/risk/ruleset").json()["version"] == "rules-2026.11.1"
    refused = staffed.client.post(
        "/api/v1/risk/ruleset/versions", json=change, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403
    csrf = _session(staffed, "supervisor.chen", "supervisor")
    made = staffed.client.post(
        "/api/v1/risk/ruleset/versions", json=change, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text
    assert made.json()["changedBy"] == "supervisor.chen"
    assert staffed.client.get("/api/v1/risk/ruleset").json()["version"] == "rules-2026.12.9"
    report = staffed.client.get("/api/v1/risk/report")
    assert report.status_code == 200, report.text
    history = staffed.client.get("/api/v1/risk/ruleset/versions").json()
    assert "rules-2026.12.9" in json.dumps(history)
