"""Labels in the risk database train a model that scores, explains, and improves with feedback."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from clearway.cli import main
from risk import service
from risk.db import RiskAssessment, RiskLabel
from risk.domain.rules import RuleSet
from risk.model import drift, synthetic
from risk.report import report
from risk.scoring import CURRENT_FILE, current_model
from risk.training import NotEnoughLabels, train
from schemas.events import InspectionConcludedV1, RiskAssessedV1

RULES = RuleSet(random_inspection_rate=Decimal(0))


class Ctx:
    """What a handler uses of its context: the session and emit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.emitted: list[RiskAssessedV1] = []
        self.envelope = SimpleNamespace(occurred_at=datetime.now(UTC), correlation_id="test")

    def emit(self, event, *, key: str) -> None:
        self.emitted.append(event)


def assess_and_label(engine, generated, model=None) -> list[RiskAssessedV1]:
    """Assess declarations as the worker does, then record their inspection outcomes."""
    with Session(engine) as session, session.begin():
        ctx = Ctx(session)
        for g in generated:
            service.assess_declaration(lambda _session: RULES, ctx, g.event, model=model)
        for g in generated:
            service.record_label(
                ctx,
                InspectionConcludedV1(
                    declaration_id=g.event.declaration_id,
                    order_no=g.event.order_no,
                    found=g.found,
                    outcome="detained" if g.found else "released",
                    decided_by="officer-1",
                    decided_at=datetime(2026, 11, 23, tzinfo=UTC),
                ),
            )
    return ctx.emitted


def test_more_labels_train_a_measurably_better_model(risk_engine, tmp_path):
    models = tmp_path / "models"
    generated = list(synthetic.declarations(600, seed=11))
    assess_and_label(risk_engine, generated[:120])
    first = train(risk_engine, models, version="v1")
    assert first.promoted and (models / CURRENT_FILE).read_text().strip() == "v1"
    assert first.comparison.current is None

    loaded = current_model(str(models))
    assert loaded is not None and loaded.version == "v1"
    emitted = assess_and_label(risk_engine, generated[120:], model=loaded)
    assert {e.model_version for e in emitted} == {"v1"}
    assert any(r.code.startswith("model:") for e in emitted for r in e.reasons)

    second = train(risk_engine, models, version="v2")
    c = second.comparison
    assert c.held_out == 120 and c.current_version == "v1" and c.current is not None
    # the same held-out slice (the latest 120 labels, after everything v1 learned from)
    assert c.new.auc > c.current.auc + 0.03, (c.new.auc, c.current.auc)
    assert second.promoted and (models / CURRENT_FILE).read_text().strip() == "v2"
    meta = json.loads((models / "v2" / "model.json").read_text())
    assert meta["training"]["rows"] == 600 and meta["version"] == "v2"


def test_training_without_enough_labels_says_how_many_it_has(risk_engine, tmp_path):
    assess_and_label(risk_engine, list(synthetic.declarations(10, seed=3)))
    with pytest.raises(NotEnoughLabels, match="10 labelled declarations"):
        train(risk_engine, tmp_path, version="v1")


def _assessment(i: int, score: int, codes: list[str]) -> RiskAssessment:
    return RiskAssessment(
        declaration_id=f"d{i}",
        order_no=f"o{i}",
        ebc_code="e",
        buyer_key="b",
        score=score,
        route="release",
        reasons=json.dumps([{"code": c, "text": c, "points": 0, "evidence": {}} for c in codes]),
        ruleset_version="r",
        assessed_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=i),
    )


def test_the_report_gives_each_rules_hit_rate_and_precision_and_the_drift(risk_engine):
    with Session(risk_engine) as session, session.begin():
        session.add_all(
            [
                _assessment(0, 5, ["new-enterprise"]),
                _assessment(1, 15, ["new-enterprise", "high-value"]),
                _assessment(2, 55, ["high-value"]),
                _assessment(3, 95, []),
            ]
        )
        session.flush()
        for i, found in ((0, False), (1, True), (2, True)):
            session.add(
                RiskLabel(
                    declaration_id=f"d{i}",
                    order_no=f"o{i}",
                    found=found,
                    finding_codes="[]",
                    outcome="detained" if found else "released",
                    decided_by="officer-1",
                    decided_at=datetime(2026, 11, 2, tzinfo=UTC),
                    recorded_at=datetime(2026, 11, 2, tzinfo=UTC),
                )
            )
    data = report(risk_engine, None)
    rules = {r["code"]: r for r in data["rules"]}
    assert (data["assessments"], data["labels"], data["found"]) == (4, 3, 2)
    assert rules["new-enterprise"]["hitRate"] == 0.5
    assert rules["new-enterprise"]["precision"] == 0.5  # d0 not found, d1 found
    assert rules["high-value"]["precision"] == 1.0
    # halves: scores 5, 15 (bands 0, 1) against 55, 95 (bands 5, 9)
    assert data["drift"]["psi"] == pytest.approx(drift.psi([5, 15], [55, 95]))
    assert data["drift"]["reading"] == "shifted"


def test_psi_is_zero_for_the_same_distribution_and_hand_computable_otherwise():
    assert drift.psi([5, 15, 25], [6, 16, 26]) == 0.0
    # half/half in bands 0 and 1 against all in band 0
    expected = (1 - 0.5) * math.log(1 / 0.5) + (0.001 - 0.5) * math.log(0.001 / 0.5)
    assert drift.psi([1, 11], [2, 3]) == pytest.approx(expected)


def test_train_and_report_commands_print_their_figures(tmp_path, monkeypatch, capsys):
    from clearway.database import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'risk.db'}"
    migrate("risk", url)
    engine = make_engine(url)
    assess_and_label(engine, list(synthetic.declarations(300, seed=5)))
    engine.dispose()
    monkeypatch.setenv("RISK_DATABASE_URL", url)
    monkeypatch.setenv("RISK_MODEL_DIR", str(tmp_path / "models"))
    assert main(["risk", "train", "--version", "m1"]) == 0
    out = capsys.readouterr().out
    assert "trained m1 on 300 labels" in out and "held-out time slice: the latest 60" in out
    assert "now current" in out and Path(tmp_path / "models" / "m1" / "model.txt").is_file()
    assert main(["risk", "report"]) == 0
    out = capsys.readouterr().out
    assert "300 assessments, 300 labelled" in out and "model m1" in out and "PSI" in out
    assert main(["risk", "report", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["modelVersion"] == "m1"
