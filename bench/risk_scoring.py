"""Scoring cost of the learned risk model per declaration, at a steady rate; prints its figures.

    .venv/bin/python -m bench.risk_scoring [--rate 1000] [--seconds 5] [--train 3000]

A compact model (as `clearway risk train` makes) is trained on generated declarations with a
known signal, then declarations arrive at `--rate` per second and each is scored as the worker
does: its history read from the risk database (SQLite, in one query), the named features, one
LightGBM call with contributions (the log-odds are their sum), reasons, and the combination with
the rules. Prints p50/p99/max of the whole model part and of its pieces, in milliseconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from clearway.database import make_engine, migrate
from risk import model_history, scoring
from risk.domain.rules import History as RuleHistory
from risk.domain.rules import RuleSet, assess
from risk.model import gbm, synthetic
from risk.model.features import History, features
from risk.model.platform import declared_from


def _train(count: int) -> tuple[gbm.RiskModel, list[synthetic.Generated]]:
    generated = list(synthetic.declarations(count, seed=1))
    history = History()
    rows, labels = [], []
    for g in generated:
        declared = declared_from(g.event, date(2026, 11, 1))
        rows.append(features(declared, history))
        history.add(declared)
        history.add_label(declared, g.found)
        labels.append(g.found)
    model = gbm.fit(rows, labels, version="bench", summary={}, compact=True)
    return model, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1000.0, help="declarations per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--train", type=int, default=3000, help="generated training labels")
    args = parser.parse_args()
    model, generated = _train(args.train)
    print(f"model: {model.meta['trees']} trees (compact), trained on {args.train} labels")
    rules = RuleSet(random_inspection_rate=Decimal(0))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'risk.db'}"
        migrate("risk", url)
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            for g in generated:
                model_history.add(session, declared_from(g.event, date(2026, 11, 1)))
        arrivals = list(synthetic.declarations(int(args.rate * args.seconds), seed=2))
        facts = [declared_from(g.event, date(2026, 11, 2)) for g in arrivals]
        verdicts = [assess(g.event, RuleHistory(1), rules) for g in arrivals]
        total: list[float] = []
        late = 0
        interval = 1.0 / args.rate
        with Session(engine) as session:
            start = time.perf_counter()
            for i, declared in enumerate(facts):
                due = start + i * interval
                now = time.perf_counter()
                if now > due + interval:
                    late += 1  # the scorer fell behind the arrival rate
                while (now := time.perf_counter()) < due:
                    time.sleep(min(due - now, 0.0005))
                t0 = time.perf_counter()
                part = scoring.score(session, model, declared, rules)  # the worker's call
                scoring.combine(verdicts[i], part, rules, "bench")
                total.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
            lookup: list[float] = []
            predict: list[float] = []
            for declared in facts[:1000]:
                t0 = time.perf_counter()
                history = model_history.history_for(session, declared)
                t1 = time.perf_counter()
                row = features(declared, history)
                model.booster.predict(
                    model.encoding.matrix([row]), pred_contrib=True, num_threads=1
                )
                lookup.append(t1 - t0)
                predict.append(time.perf_counter() - t1)
        engine.dispose()
    print(
        f"{len(facts)} declarations offered at {args.rate:.0f}/s, scored in {elapsed:.1f}s "
        f"({len(facts) / elapsed:.0f}/s; {late} started late)"
    )
    for name, values in (
        ("model part per declaration (worker's call)", total),
        ("  of which history lookup (SQLite, 1 query)", lookup),
        ("  of which features + LightGBM contributions", predict),
    ):
        ms = np.array(values) * 1000
        print(
            f"  {name:<46} p50 {np.percentile(ms, 50):.3f} ms  p99 {np.percentile(ms, 99):.3f} ms"
            f"  max {ms.max():.3f} ms"
        )


if __name__ == "__main__":
    main()
