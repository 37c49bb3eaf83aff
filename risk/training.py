"""`clearway risk train`: a new model version from the labels in the risk database.

Features are rebuilt from the facts stored with each assessment, replayed in time order through
a fresh history (each declaration sees only earlier declarations and labels). The new model is
compared with the current one on the latest TAIL_SHARE of the labelled declarations (a held-out
time slice neither has trained on for the comparison), then refitted on every label, saved, and
made current when it is at least as good there (unless told not to).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from risk.db import RiskAssessment, RiskLabel
from risk.model import gbm
from risk.model.features import History, Value, features
from risk.model.metrics import Figures, figures
from risk.model.platform import from_json
from risk.scoring import CURRENT_FILE, current_model

MIN_LABELS = 40


class NotEnoughLabels(ValueError):
    """Too few labels (or only one outcome) to train on."""


@dataclass(frozen=True, slots=True)
class Examples:
    """Labelled declarations' features in time order, with their labels and last date."""

    rows: list[dict[str, Value]]
    labels: list[bool]
    assessed: int
    until: str


def examples(engine: Engine) -> Examples:
    """Rebuild every assessment's features from its stored facts; keep the labelled ones."""
    with Session(engine) as session:
        assessed = session.execute(
            select(
                col(RiskAssessment.declaration_id),
                col(RiskAssessment.facts),
                col(RiskAssessment.assessed_at),
            )
            .where(col(RiskAssessment.facts).is_not(None))
            .order_by(col(RiskAssessment.assessed_at), col(RiskAssessment.declaration_id))
        ).all()
        labelled = session.execute(select(col(RiskLabel.declaration_id), col(RiskLabel.found)))
        found: dict[str, bool] = {declaration_id: outcome for declaration_id, outcome in labelled}
    history = History()
    rows: list[dict[str, Value]] = []
    labels: list[bool] = []
    until: datetime | None = None
    for declaration_id, facts, assessed_at in assessed:
        declared = from_json(json.loads(facts))
        row = features(declared, history)
        history.add(declared)
        if declaration_id in found:
            rows.append(row)
            labels.append(bool(found[declaration_id]))
            history.add_label(declared, bool(found[declaration_id]))
            until = assessed_at
    return Examples(rows, labels, len(assessed), until.isoformat() if until else "")


@dataclass(frozen=True, slots=True)
class Comparison:
    """The new and the current model on the same held-out time slice."""

    held_out: int
    new: Figures
    current: Figures | None
    current_version: str | None


@dataclass(frozen=True, slots=True)
class Trained:
    """What `train` did."""

    model: gbm.RiskModel
    folder: Path
    comparison: Comparison
    promoted: bool


def train(
    engine: Engine, model_dir: Path, *, version: str, promote: bool = True, seed: int = 7
) -> Trained:
    """Train, compare, save, and (when at least as good) make current a new model version."""
    data = examples(engine)
    if len(data.labels) < MIN_LABELS or len(set(data.labels)) < 2:
        raise NotEnoughLabels(
            f"{len(data.labels)} labelled declarations ({sum(data.labels)} found); training "
            f"needs at least {MIN_LABELS} with both outcomes"
        )
    cut = int(len(data.rows) * (1 - gbm.TAIL_SHARE))
    summary: dict[str, Any] = {"assessed": data.assessed, "trained_until": data.until}
    try:
        trial = gbm.fit(
            data.rows[:cut], data.labels[:cut], version="trial", summary={}, seed=seed,
            compact=True,
        )  # fmt: skip
        held_rows, held_labels = data.rows[cut:], data.labels[cut:]
        new = figures(held_labels, [float(p) for p in trial.probabilities(held_rows)],
                      trial.threshold)  # fmt: skip
        current = current_model(str(model_dir))
        old = (
            None
            if current is None
            else figures(
                held_labels,
                [float(p) for p in current.probabilities(held_rows)],
                current.threshold,
            )
        )
        model = gbm.fit(
            data.rows, data.labels, version=version, summary=summary, seed=seed, compact=True
        )
    except ValueError as exc:
        raise NotEnoughLabels(str(exc)) from None
    model.meta["held_out"] = {"rows": len(held_labels), "auc": new.auc, "macro_f1": new.macro.f1}
    folder = model.save(model_dir)
    better = old is None or new.auc >= old.auc
    if promote and better:
        (model_dir / CURRENT_FILE).write_text(version + "\n", encoding="utf-8")
    comparison = Comparison(
        len(held_labels), new, old, None if current is None else current.version
    )
    return Trained(model, folder, comparison, promoted=promote and better)


def render(result: Trained) -> str:
    """What the command prints: the comparison and where the model went."""
    c = result.comparison

    def line(name: str, f: Figures) -> str:
        return (
            f"  {name:<28} AUC {f.auc:.4f}  macro F1 {f.macro.f1:.4f}  "
            f"fraud precision {f.fraud.precision:.4f} recall {f.fraud.recall:.4f}"
        )

    lines = [
        f"trained {result.model.version} on {result.model.meta['training']['rows']} labels "
        f"({result.model.meta['training']['positives']} found), {result.model.meta['trees']} "
        f"trees, threshold {result.model.threshold:.4f}",
        f"held-out time slice: the latest {c.held_out} labelled declarations",
        line("new (fitted before the slice)", c.new),
        line(f"current {c.current_version}", c.current)
        if c.current
        else "  current: none (rules only)",
        f"saved to {result.folder}; " + ("now current" if result.promoted else "not made current"),
    ]
    return "\n".join(lines)
