"""Classification figures for a risk model, as pure functions of labels and scores.

A declaration is flagged when its score is at or above the threshold; "fraud" is the positive
class. Inspection-rate figures flag the top share of declarations by score instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClassFigures:
    """Precision, recall and F1 of one class."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything `clearway risk evaluate` prints about one scored data set."""

    rows: int
    positives: int
    auc: float
    accuracy: float
    fraud: ClassFigures
    legitimate: ClassFigures
    macro: ClassFigures
    at_rates: tuple[tuple[float, ClassFigures], ...]  # (inspection rate, fraud-class figures)


def _class(tp: int, fp: int, fn: int) -> ClassFigures:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassFigures(precision, recall, f1)


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); NaN with one class only."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1  # ranks are 1-based; tied scores share the mean rank
        rank_sum += mid_rank * sum(1 for k in order[i : j + 1] if labels[k])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def at_threshold(labels: Sequence[bool], flagged: Sequence[bool]) -> tuple[ClassFigures, ...]:
    """(fraud, legitimate, macro) figures and nothing else, for flags already decided."""
    tp = sum(1 for y, f in zip(labels, flagged, strict=True) if y and f)
    fp = sum(1 for y, f in zip(labels, flagged, strict=True) if not y and f)
    fn = sum(1 for y, f in zip(labels, flagged, strict=True) if y and not f)
    tn = len(labels) - tp - fp - fn
    fraud, legitimate = _class(tp, fp, fn), _class(tn, fn, fp)
    macro = ClassFigures(
        (fraud.precision + legitimate.precision) / 2,
        (fraud.recall + legitimate.recall) / 2,
        (fraud.f1 + legitimate.f1) / 2,
    )
    return fraud, legitimate, macro


def top_share(labels: Sequence[bool], scores: Sequence[float], rate: float) -> ClassFigures:
    """Fraud-class figures when the `rate` share of declarations with the highest scores is
    inspected (at least one; ties broken by position)."""
    count = max(1, round(len(scores) * rate))
    chosen = set(sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:count])
    return at_threshold(labels, [i in chosen for i in range(len(scores))])[0]


def figures(
    labels: Sequence[bool],
    scores: Sequence[float],
    threshold: float,
    rates: Sequence[float] = (0.01, 0.02, 0.05, 0.10),
) -> Figures:
    """All the figures for scores flagged at `threshold`."""
    flagged = [s >= threshold for s in scores]
    fraud, legitimate, macro = at_threshold(labels, flagged)
    correct = sum(1 for y, f in zip(labels, flagged, strict=True) if y == f)
    return Figures(
        rows=len(labels),
        positives=sum(labels),
        auc=auc(labels, scores),
        accuracy=correct / len(labels) if labels else 0.0,
        fraud=fraud,
        legitimate=legitimate,
        macro=macro,
        at_rates=tuple((rate, top_share(labels, scores, rate)) for rate in rates),
    )


def best_threshold(labels: Sequence[bool], scores: Sequence[float]) -> tuple[float, float]:
    """The threshold (one of the scores) that gives the highest macro F1, and that F1."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    positives = sum(labels)
    negatives = len(labels) - positives
    best = (1.0, -1.0)
    tp = fp = 0
    for rank, i in enumerate(order):
        tp += labels[i]
        fp += not labels[i]
        if rank + 1 < len(order) and scores[order[rank + 1]] == scores[i]:
            continue  # a threshold flags all tied scores together
        fn, tn = positives - tp, negatives - fp
        fraud = _class(tp, fp, fn).f1
        legitimate = _class(tn, fn, fp).f1
        macro = (fraud + legitimate) / 2
        if macro > best[1]:
            best = (scores[i], macro)
    return best
