"""Model features: pure, named the same for every source, and never from a row's own future."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from risk.model.evaluate import feature_rows
from risk.model.features import FEATURE_NAMES, Declared, History, features
from risk.model.kcs import LabelledRow


def declared(i: int, **changes) -> Declared:
    base = Declared(
        ref=f"d{i}",
        day=date(2024, 1, 1) + timedelta(days=i // 10),
        hs_code="3304990000",
        value=100.0 + i,
        origin_country="JP",
        departure_country="KR",
        net_mass_kg=2.0,
        parties={"importer": f"buyer-{i % 7}", "seller": f"shop-{i % 3}"},
    )
    return replace(base, **changes)


def test_every_feature_is_named_and_values_come_from_the_declaration():
    row = features(declared(1), History())
    assert list(row) == list(FEATURE_NAMES)
    assert row["hs2"] == "33" and row["hs4"] == "3304"
    assert row["origin_differs"] == 1.0
    assert row["log_value_per_kg"] == pytest.approx(3.9416, abs=1e-4)  # log(1 + 101 / 2)
    assert row["importer_seen"] == 0.0
    assert row["declarant_seen"] is None  # no declarant given: missing, not zero


def test_history_counts_earlier_declarations_and_their_outcomes():
    history = History()
    first = declared(0, parties={"importer": "buyer-x"})
    history.add(first)
    history.add_label(first, True)
    later = declared(1, parties={"importer": "buyer-x"})
    row = features(later, history)
    assert row["importer_seen"] == 1.0
    prior = (1 + 1) / (1 + 5)
    assert row["importer_fraud_rate"] == pytest.approx((1 + 10 * prior) / (1 + 10))
    assert row["value_vs_importer"] == pytest.approx(0.00985, abs=1e-4)


def _rows(n: int, seed: int) -> list[LabelledRow]:
    draw = random.Random(seed)
    return [LabelledRow(declared(i), draw.random() < 0.3) for i in range(n)]


def test_shuffling_later_labels_does_not_change_a_rows_features():
    rows = _rows(200, seed=1)
    cut = 120
    later = [r.fraud for r in rows[cut:]]
    random.Random(2).shuffle(later)
    changed = (replace(r, fraud=not f) for r, f in zip(rows[cut:], later, strict=True))
    flipped = [*rows[:cut], *changed]
    original, _ = feature_rows(rows, [])
    shuffled, _ = feature_rows(flipped, [])
    assert shuffled[: cut + 1] == original[: cut + 1]  # row `cut` sees only the rows before it
    assert shuffled[cut + 5 :] != original[cut + 5 :]  # the later ones do change: labels count


def test_test_rows_never_see_a_test_label():
    train, test = _rows(100, seed=3), _rows(60, seed=4)
    flipped = [replace(r, fraud=not r.fraud) for r in test]
    assert feature_rows(train, test)[1] == feature_rows(train, flipped)[1]
