"""The risk report: each rule's hit rate and precision against labels, and score drift.

A rule "hits" a declaration when its reason is in the assessment (model feature reasons are
grouped as `model:*`); its precision is the share of its labelled hits whose inspection found a
problem. Drift compares the scores of the current model's training period (assessed up to its
`trained_until`) with the assessments after it; with no model, the earlier and later halves.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from clearway.database import as_utc
from risk.db import RiskAssessment, RiskLabel
from risk.model import drift
from risk.model.gbm import RiskModel


def report(engine: Engine, model: RiskModel | None) -> dict[str, Any]:
    """The report as JSON-ready data."""
    with Session(engine) as session:
        assessed = session.execute(
            select(
                col(RiskAssessment.reasons),
                col(RiskAssessment.score),
                col(RiskAssessment.route),
                col(RiskAssessment.assessed_at),
                col(RiskLabel.found),
            )
            .join(
                RiskLabel,
                col(RiskLabel.declaration_id) == col(RiskAssessment.declaration_id),
                isouter=True,
            )
            .order_by(col(RiskAssessment.assessed_at))
        ).all()
    hits: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for reasons, _score, _route, _at, outcome in assessed:
        codes = {
            "model:*" if r["code"].startswith("model:") else r["code"] for r in json.loads(reasons)
        }
        for code in codes:
            hits[code] += 1
            if outcome is not None:
                labelled[code] += 1
                found[code] += bool(outcome)
    total = len(assessed)
    until = None if model is None else model.meta.get("training", {}).get("trained_until")
    if until:
        cutoff = as_utc(datetime.fromisoformat(until))
        reference = [s for _r, s, _ro, at, _o in assessed if as_utc(at) <= cutoff]
        recent = [s for _r, s, _ro, at, _o in assessed if as_utc(at) > cutoff]
        split = f"assessed up to {until} (the current model's training data) against after it"
    else:
        half = total // 2
        reference = [row[1] for row in assessed[:half]]
        recent = [row[1] for row in assessed[half:]]
        split = "earlier half of the assessments against the later half"
    value = drift.psi(reference, recent) if reference and recent else None
    all_labels = [o for *_, o in assessed if o is not None]
    return {
        "assessments": total,
        "labels": len(all_labels),
        "found": sum(bool(o) for o in all_labels),
        "routes": dict(Counter(row[2] for row in assessed)),
        "modelVersion": None if model is None else model.version,
        "rules": [
            {
                "code": code,
                "hits": hits[code],
                "hitRate": hits[code] / total,
                "labelled": labelled[code],
                "found": found[code],
                "precision": found[code] / labelled[code] if labelled[code] else None,
            }
            for code in sorted(hits, key=lambda c: (-hits[c], c))
        ],
        "drift": {
            "comparison": split,
            "referenceCount": len(reference),
            "recentCount": len(recent),
            "referenceShares": drift.shares(reference),
            "recentShares": drift.shares(recent),
            "psi": value,
            "reading": None if value is None else drift.reading(value),
        },
    }


def render(data: dict[str, Any]) -> str:
    """The report as text."""
    lines = [
        f"{data['assessments']} assessments, {data['labels']} labelled ({data['found']} found); "
        f"routes {data['routes']}; model {data['modelVersion'] or 'none (rules only)'}",
        "",
        f"  {'rule':<28}{'hits':>7}{'hit rate':>10}{'labelled':>10}{'found':>7}{'precision':>11}",
    ]
    for rule in data["rules"]:
        precision = "-" if rule["precision"] is None else f"{rule['precision']:.3f}"
        lines.append(
            f"  {rule['code']:<28}{rule['hits']:>7}{rule['hitRate']:>10.3f}"
            f"{rule['labelled']:>10}{rule['found']:>7}{precision:>11}"
        )
    d = data["drift"]
    psi = "n/a (too few assessments)" if d["psi"] is None else f"{d['psi']:.4f} ({d['reading']})"
    lines += [
        "",
        f"score drift, {d['comparison']} ({d['referenceCount']} vs {d['recentCount']}):",
        f"  PSI {psi}",
        "  band      " + " ".join(f"{10 * i:>5}" for i in range(drift.BANDS)),
        "  reference " + " ".join(f"{s:>5.2f}" for s in d["referenceShares"]),
        "  recent    " + " ".join(f"{s:>5.2f}" for s in d["recentShares"]),
    ]
    return "\n".join(lines)
