"""Rule set changes through the risk API: validated like the file, versioned, audited."""

from __future__ import annotations

import json

from risk.ruleset_file import default_ruleset_text

OFFICER = {"X-Clearway-Actor": "officer-7"}


def seed() -> dict:
    return {**json.loads(default_ruleset_text()), "random_inspection_rate": "0"}


def post(api, ruleset: dict, *, reason: str = "seizure report 17", headers=OFFICER, **extra):
    return api.post(
        "/v1/ruleset/versions",
        json={"ruleset": ruleset, "reason": reason, **extra},
        headers=headers,
    )


def problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.json()


def test_before_any_change_the_file_is_in_force(risk_api):
    answer = risk_api.get("/v1/ruleset")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["version"], body["source"]) == ("rules-2026.11.1", "file")
    assert body["ruleset"] == seed()  # the settings' random rate applies to the file


def test_a_valid_change_is_put_in_force_with_who_when_why_and_what(risk_api):
    new = {
        **seed(),
        "version": "rules-2026.12.1",
        "high_value": "3500",
        "watchlist": [{"kind": "enterprise", "value": "3301960002", "reason": "fake invoices"}],
    }
    answer = post(risk_api, new)
    assert answer.status_code == 201, answer.text
    change = answer.json()
    assert change["version"] == "rules-2026.12.1"
    assert change["previousVersion"] == "rules-2026.11.1"
    assert change["changedBy"] == "officer-7"
    assert change["reason"] == "seizure report 17"
    assert change["changes"] == [
        {"field": "high_value", "old": "4000", "new": "3500"},
        {
            "field": "watchlist",
            "old": [],
            "new": [
                {
                    "kind": "enterprise",
                    "value": "3301960002",
                    "reason": "fake invoices",
                    "points": None,
                }
            ],
        },
    ]
    assert change["previousRuleset"] == seed()
    current = risk_api.get("/v1/ruleset").json()
    assert (current["version"], current["source"]) == ("rules-2026.12.1", "api")
    assert current["ruleset"]["high_value"] == "3500"
    assert current["changedBy"] == "officer-7"


def test_numbers_for_amounts_are_kept_exact(risk_api):
    answer = post(risk_api, {**seed(), "version": "v-num", "undervaluation_ratio": 0.45})
    assert answer.status_code == 201, answer.text
    assert answer.json()["ruleset"]["undervaluation_ratio"] == "0.45"


INVALID = [
    ({"review_from": 101}, "body/ruleset/review_from", "less_than_equal"),
    ({"review_from": 80}, "body/ruleset/inspect_from", "value_error"),
    ({"restricted_hs_prefixes": ["30A4"]}, "body/ruleset/restricted_hs_prefixes/0", None),
    ({"surprise": 1}, "body/ruleset/surprise", "extra_forbidden"),
    (
        {"watchlist": [{"kind": "buyer", "value": "13800000000", "reason": "x"}]},
        "body/ruleset/watchlist/0/value",
        "value_error",
    ),
    ({"version": ""}, "body/ruleset/version", "string_too_short"),
]


def test_an_invalid_change_is_refused_naming_the_field(risk_api):
    # one database for the whole table: validation happens before anything is stored
    for change, path, rule in INVALID:
        body = problem(post(risk_api, {**seed(), "version": "v-bad", **change}), 422)
        assert body["errors"][0]["path"] == path, change
        assert rule is None or body["errors"][0]["rule"] == rule, change
        assert body["errors"][0]["message"], change
    assert risk_api.get("/v1/ruleset").json()["version"] == "rules-2026.11.1"
    assert risk_api.get("/v1/ruleset/versions").json()["versions"] == []


def test_a_missing_field_of_the_rule_set_is_named(risk_api):
    incomplete = seed()
    del incomplete["watchlist_points"]
    body = problem(post(risk_api, {**incomplete, "version": "v2"}), 422)
    assert body["errors"] == [
        {"path": "body/ruleset/watchlist_points", "rule": "missing", "message": "Field required"}
    ]


def test_a_change_needs_an_actor_and_a_reason(risk_api):
    no_actor = problem(post(risk_api, {**seed(), "version": "v2"}, headers={}), 422)
    assert no_actor["errors"][0]["path"] == "header/X-Clearway-Actor"
    assert no_actor["errors"][0]["rule"] == "missing"
    blank = problem(post(risk_api, {**seed(), "version": "v2"}, reason=" "), 422)
    assert blank["errors"][0]["path"] == "body/reason"


def test_a_version_is_used_once(risk_api):
    assert post(risk_api, {**seed(), "version": "v2"}).status_code == 201
    again = problem(post(risk_api, {**seed(), "version": "v2", "high_value": "1000"}), 409)
    assert "v2" in again["detail"]
    same_as_file = problem(post(risk_api, {**seed(), "version": "rules-2026.11.1"}), 409)
    assert "already used" in same_as_file["detail"]


def test_a_change_based_on_an_older_version_is_refused(risk_api):
    assert post(risk_api, {**seed(), "version": "v2"}, basedOn="rules-2026.11.1").status_code == 201
    late = problem(post(risk_api, {**seed(), "version": "v3"}, basedOn="rules-2026.11.1"), 409)
    assert "v2 is in force" in late["detail"]


def test_the_history_lists_every_change_newest_first(risk_api):
    post(risk_api, {**seed(), "version": "v2", "buyer_day_max": 5}, reason="too many hits")
    post(
        risk_api,
        {**seed(), "version": "v3", "buyer_day_max": 4},
        reason="a middle ground",
        headers={"X-Clearway-Actor": "officer-9"},
    )
    history = risk_api.get("/v1/ruleset/versions").json()
    assert history["seedVersion"] == "rules-2026.11.1"
    assert [(v["version"], v["previousVersion"], v["changedBy"], v["reason"]) for v in
            history["versions"]] == [
        ("v3", "v2", "officer-9", "a middle ground"),
        ("v2", "rules-2026.11.1", "officer-7", "too many hits"),
    ]  # fmt: skip
    assert history["versions"][0]["changes"] == [{"field": "buyer_day_max", "old": 5, "new": 4}]
    assert all(v["changedAt"].endswith("+00:00") for v in history["versions"])
    one = risk_api.get("/v1/ruleset/versions/v2").json()
    assert one["ruleset"]["buyer_day_max"] == 5 and one["previousRuleset"] == seed()
    file_version = risk_api.get("/v1/ruleset/versions/rules-2026.11.1").json()
    assert file_version["source"] == "file"
    assert problem(risk_api.get("/v1/ruleset/versions/v9"), 404)["detail"].endswith("v9")


def test_a_ruleset_that_is_not_an_object_is_refused(risk_api):
    answer = risk_api.post(
        "/v1/ruleset/versions", json={"ruleset": [1], "reason": "x"}, headers=OFFICER
    )
    assert problem(answer, 422)["errors"][0]["path"] == "body/ruleset"
