"""`clearway risk evaluate`: train on KCS training files, judge on a test file, print figures.

History features of the test rows use the training labels and the earlier test rows' facts,
never a test label; the threshold and the number of trees come from the training files only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from risk.model import gbm, kcs
from risk.model.features import History, Value, features
from risk.model.metrics import ClassFigures, Figures, figures


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The figures on the test file, how the threshold was chosen, and how long it took."""

    train_rows: int
    train_positives: int
    train_period: tuple[str, str]
    test_rows: int
    test_period: tuple[str, str]
    threshold: float
    threshold_rule: str
    trees: int
    figures: Figures
    seconds: dict[str, float]


def feature_rows(
    train: Sequence[kcs.LabelledRow], test: Sequence[kcs.LabelledRow]
) -> tuple[list[dict[str, Value]], list[dict[str, Value]]]:
    """Features of the training rows (each from the rows and labels before it) and of the test
    rows (from the training rows with labels and the earlier test rows without)."""
    history = History()
    train_features: list[dict[str, Value]] = []
    for row in train:
        train_features.append(features(row.declared, history))
        history.add(row.declared)
        history.add_label(row.declared, row.fraud)
    test_features: list[dict[str, Value]] = []
    for row in test:
        test_features.append(features(row.declared, history))
        history.add(row.declared)
    return train_features, test_features


def _period(rows: Sequence[kcs.LabelledRow]) -> tuple[str, str]:
    if not rows:
        return ("", "")
    return (rows[0].declared.day.isoformat(), rows[-1].declared.day.isoformat())


def evaluate(train_paths: Sequence[Path], test_path: Path) -> Evaluation:
    """Train on `train_paths`, score `test_path`, and measure."""
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    train = kcs.read_files(list(train_paths))
    test = kcs.read_files([test_path])
    if len(train) < 50:
        raise kcs.KcsRowInvalid(f"training files: {len(train)} rows, at least 50 are needed")
    if not test:
        raise kcs.KcsRowInvalid(f"{test_path.name}: no rows to test on")
    seconds["read"] = time.perf_counter() - clock
    clock = time.perf_counter()
    train_features, test_features = feature_rows(train, test)
    seconds["features"] = time.perf_counter() - clock
    clock = time.perf_counter()
    labels = [r.fraud for r in train]
    model = gbm.fit(train_features, labels, version="kcs-evaluate", summary={})
    seconds["train"] = time.perf_counter() - clock
    clock = time.perf_counter()
    scores = [float(s) for s in model.probabilities(test_features)]
    seconds["score"] = time.perf_counter() - clock
    return Evaluation(
        train_rows=len(train),
        train_positives=sum(labels),
        train_period=_period(train),
        test_rows=len(test),
        test_period=_period(test),
        threshold=model.threshold,
        threshold_rule=str(model.meta["threshold_rule"]),
        trees=int(model.meta["trees"]),
        figures=figures([r.fraud for r in test], scores, model.threshold),
        seconds=seconds,
    )


def _line(name: str, c: ClassFigures) -> str:
    return f"  {name:<22} precision {c.precision:.4f}  recall {c.recall:.4f}  F1 {c.f1:.4f}"


def render(result: Evaluation) -> str:
    """The figures as the command prints them."""
    f = result.figures
    lines = [
        f"training: {result.train_rows} rows ({result.train_positives} fraud), "
        f"{result.train_period[0]} to {result.train_period[1]}",
        f"test:     {f.rows} rows ({f.positives} fraud), "
        f"{result.test_period[0]} to {result.test_period[1]}",
        f"model:    LightGBM, {result.trees} trees",
        f"threshold {result.threshold:.4f}: {result.threshold_rule}",
        "",
        f"  AUC                    {f.auc:.4f}",
        f"  accuracy               {f.accuracy:.4f}",
        _line("macro", f.macro),
        _line("fraud class", f.fraud),
        _line("legitimate class", f.legitimate),
        "",
        "  inspecting the highest-scored share of the test declarations (fraud class):",
        *(
            f"  at {rate:>4.0%} inspected        precision {c.precision:.4f}  recall {c.recall:.4f}"
            for rate, c in f.at_rates
        ),
        "",
        "time: "
        + ", ".join(f"{name} {s:.1f}s" for name, s in result.seconds.items())
        + f", total {sum(result.seconds.values()):.1f}s",
    ]
    return "\n".join(lines)
