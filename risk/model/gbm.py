"""Gradient-boosted trees (LightGBM) on the named features, saved as files.

A model is a folder holding `model.txt` (LightGBM's text format) and `model.json` (its version,
feature names, category codes, decision threshold and a summary of its training data). The
threshold and the number of trees are chosen on the latest part of the training data (a
time-ordered tail), never on the data the model is later judged on.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from risk.model.features import CATEGORICAL, FEATURE_NAMES, Value
from risk.model.metrics import auc, best_threshold

MODEL_FILE, META_FILE = "model.txt", "model.json"
MIN_CATEGORY_COUNT = 5  # rarer categories are unknown to the model (their history still counts)
TAIL_SHARE = 0.2  # the latest share of the training rows used to choose trees and threshold
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "max_cat_threshold": 32,
    "num_threads": 2,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
MAX_ROUNDS, EARLY_STOP = 1500, 100
COMPACT_ROUNDS = 300


@dataclass(frozen=True, slots=True)
class Encoding:
    """Category codes per categorical feature (a value's code is its index)."""

    categories: dict[str, list[str]]

    def matrix(self, rows: Sequence[dict[str, Value]]) -> np.ndarray:
        """Rows of named features as a float matrix; missing and unknown values are NaN."""
        codes = {name: {v: i for i, v in enumerate(vs)} for name, vs in self.categories.items()}
        out = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
        for r, row in enumerate(rows):
            for c, name in enumerate(FEATURE_NAMES):
                value = row.get(name)
                if value is None:
                    continue
                if name in codes:
                    code = codes[name].get(str(value))
                    if code is not None:
                        out[r, c] = code
                else:
                    out[r, c] = float(value)
        return out


def fit_encoding(rows: Sequence[dict[str, Value]]) -> Encoding:
    """Category codes for the values seen at least MIN_CATEGORY_COUNT times, most common first."""
    categories = {}
    for name in CATEGORICAL:
        counts = Counter(str(row[name]) for row in rows if row.get(name) is not None)
        categories[name] = [v for v, n in counts.most_common() if n >= MIN_CATEGORY_COUNT]
    return Encoding(categories)


def _dataset(matrix: np.ndarray, labels: Sequence[bool]) -> lgb.Dataset:
    return lgb.Dataset(
        matrix,
        label=np.asarray(labels, dtype=float),
        feature_name=list(FEATURE_NAMES),
        categorical_feature=list(CATEGORICAL),
        free_raw_data=False,
        params={"verbosity": -1},
    )


def train_booster(
    matrix: np.ndarray, labels: Sequence[bool], rounds: int, seed: int = 7, compact: bool = False
) -> lgb.Booster:
    """Trees fitted on all the rows given."""
    params = {**params_for(len(labels), compact), "seed": seed}
    return lgb.train(params, _dataset(matrix, labels), num_boost_round=rounds)


@dataclass
class RiskModel:
    """A trained model with what it needs to score and explain a declaration."""

    booster: lgb.Booster
    encoding: Encoding
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    def probabilities(self, rows: Sequence[dict[str, Value]]) -> np.ndarray:
        """The probability that an inspection finds something, per row."""
        return np.asarray(self.booster.predict(self.encoding.matrix(rows)), dtype=float)

    def contributions(self, rows: Sequence[dict[str, Value]]) -> np.ndarray:
        """Per row, each feature's contribution to the log-odds (last column: the base value)."""
        return np.asarray(
            self.booster.predict(self.encoding.matrix(rows), pred_contrib=True), dtype=float
        )

    def save(self, folder: Path) -> Path:
        """Write the model files into `folder/<version>/`; returns that folder."""
        target = folder / self.version
        target.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(target / MODEL_FILE))
        meta = {**self.meta, "feature_names": list(FEATURE_NAMES)}
        meta["categories"] = self.encoding.categories
        (target / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False))
        return target


class ModelInvalid(ValueError):
    """Model files that cannot be used; the message names the file and the problem."""


def load(folder: Path) -> RiskModel:
    """A model from its folder (`model.txt` and `model.json`)."""
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelInvalid(f"{meta_path}: {exc}") from None
    for key in ("version", "threshold", "feature_names", "categories"):
        if key not in meta:
            raise ModelInvalid(f"{meta_path}: missing {key!r}")
    if meta["feature_names"] != list(FEATURE_NAMES):
        raise ModelInvalid(f"{meta_path}: feature_names differ from this code's features")
    try:
        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    except lgb.basic.LightGBMError as exc:
        raise ModelInvalid(f"{folder / MODEL_FILE}: {exc}") from None
    return RiskModel(booster, Encoding(meta.pop("categories")), meta)


@dataclass(frozen=True, slots=True)
class Choice:
    """How many trees and which threshold, chosen on the tail of the training rows."""

    rounds: int
    threshold: float
    tail_rows: int
    tail_macro_f1: float
    tail_auc: float


def params_for(rows: int, compact: bool) -> dict[str, Any]:
    """Parameters for a training set of `rows` rows; `compact` keeps trees shallow and few, so
    that explaining one declaration (pred_contrib) stays within the scoring budget."""
    params = dict(PARAMS)
    params["min_data_in_leaf"] = max(5, min(40, rows // 25))
    params["min_data_per_group"] = max(5, min(50, rows // 20))
    if compact:
        params |= {"max_depth": 5, "num_leaves": 24, "learning_rate": 0.1}
    return params


def choose(
    rows: Sequence[dict[str, Value]],
    labels: Sequence[bool],
    *,
    seed: int = 7,
    compact: bool = False,
) -> Choice:
    """Fit on the earlier rows, and on the latest TAIL_SHARE (rows in time order) pick the number
    of trees (early stopping on log loss) and the threshold that maximises macro F1."""
    cut = int(len(rows) * (1 - TAIL_SHARE))
    head_rows, tail_rows = rows[:cut], rows[cut:]
    encoding = fit_encoding(head_rows)
    head = _dataset(encoding.matrix(head_rows), labels[:cut])
    tail_matrix = encoding.matrix(tail_rows)
    tail = lgb.Dataset(tail_matrix, label=np.asarray(labels[cut:], dtype=float), reference=head)
    if len(set(labels[:cut])) < 2 or len(set(labels[cut:])) < 2:
        raise ValueError(
            "the training rows need both outcomes (found and not found) in their earlier "
            f"{1 - TAIL_SHARE:.0%} and in their latest {TAIL_SHARE:.0%}"
        )
    booster = lgb.train(
        {**params_for(cut, compact), "seed": seed},
        head,
        num_boost_round=COMPACT_ROUNDS if compact else MAX_ROUNDS,
        valid_sets=[tail],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    scores = [float(s) for s in booster.predict(tail_matrix, num_iteration=booster.best_iteration)]
    threshold, macro_f1 = best_threshold(list(labels[cut:]), scores)
    return Choice(
        # the full training set is 1/(1-TAIL_SHARE) larger: a few more trees fit it as well
        rounds=max(1, math.ceil(max(booster.best_iteration, 1) / (1 - TAIL_SHARE))),
        threshold=threshold,
        tail_rows=len(tail_rows),
        tail_macro_f1=macro_f1,
        tail_auc=auc(list(labels[cut:]), scores),
    )


def fit(
    rows: Sequence[dict[str, Value]],
    labels: Sequence[bool],
    *,
    version: str,
    summary: dict[str, Any],
    seed: int = 7,
    compact: bool = False,
) -> RiskModel:
    """A model trained on every row given (in time order), its trees and threshold chosen on the
    latest rows first."""
    choice = choose(rows, labels, seed=seed, compact=compact)
    encoding = fit_encoding(rows)
    booster = train_booster(encoding.matrix(rows), labels, choice.rounds, seed, compact)
    meta = {
        "version": version,
        "threshold": choice.threshold,
        "threshold_rule": (
            f"highest macro F1 on the latest {TAIL_SHARE:.0%} of the training rows "
            f"({choice.tail_rows} rows: macro F1 {choice.tail_macro_f1:.4f}, "
            f"AUC {choice.tail_auc:.4f}), model fitted on the earlier rows"
        ),
        "trees": choice.rounds,
        "params": "compact" if compact else "full",
        "training": {"rows": len(rows), "positives": int(sum(labels)), **summary},
    }
    return RiskModel(booster, encoding, meta)
