"""The officers' routes answer bad requests with problems that name the field and the rule."""

from __future__ import annotations


def _problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.json()


DECISION = {"action": "release", "officer": "officer-7", "reason": "documents checked"}


def test_a_decision_on_an_unknown_declaration_is_a_404(customs_api):
    problem = _problem(customs_api.post("/v1/declarations/nope/decisions", json=DECISION), 404)
    assert "nope" in problem["detail"]


def test_an_officer_cannot_take_a_risk_route_as_a_decision(customs_api):
    problem = _problem(
        customs_api.post(
            "/v1/declarations/x/decisions", json={**DECISION, "action": "route_release"}
        ),
        422,
    )
    assert problem["errors"][0] == {
        "path": "action",
        "rule": "officer-action",
        "message": "route_release is chosen by risk, not by an officer",
    }


def test_a_decision_without_a_reason_names_the_missing_field(customs_api):
    problem = _problem(
        customs_api.post(
            "/v1/declarations/x/decisions", json={"action": "release", "officer": "o"}
        ),
        422,
    )
    assert problem["errors"][0]["path"] == "body/reason"
    assert problem["errors"][0]["rule"] == "missing"


def test_an_unknown_action_is_refused_with_the_allowed_ones(customs_api):
    problem = _problem(
        customs_api.post("/v1/declarations/x/decisions", json={**DECISION, "action": "approve"}),
        422,
    )
    assert problem["errors"][0]["path"] == "body/action"
    assert "release" in problem["errors"][0]["message"]


def test_the_review_queue_lists_declarations_by_status(customs_api):
    answer = customs_api.get("/v1/declarations?status=300")
    assert answer.status_code == 200
    assert answer.json() == {"declarations": []}
