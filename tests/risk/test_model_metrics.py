"""The evaluation figures on cases small enough to compute by hand."""

from __future__ import annotations

import pytest

from risk.model.metrics import auc, best_threshold, figures, top_share

LABELS = [True, False, True, False, True]
SCORES = [0.9, 0.8, 0.7, 0.2, 0.1]


def test_figures_at_a_threshold_match_the_hand_computed_ones():
    f = figures(LABELS, SCORES, threshold=0.5, rates=(0.2, 0.4))
    # flagged: 0.9 (fraud), 0.8 (not), 0.7 (fraud) -> tp 2, fp 1, fn 1, tn 1
    assert (f.rows, f.positives) == (5, 3)
    assert f.accuracy == pytest.approx(3 / 5)
    assert (f.fraud.precision, f.fraud.recall, f.fraud.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert (f.legitimate.precision, f.legitimate.recall) == pytest.approx((1 / 2, 1 / 2))
    assert f.macro.f1 == pytest.approx((2 / 3 + 1 / 2) / 2)
    # fraud above non-fraud in 3 of the 6 pairs: (0.9>0.8), (0.9>0.2), (0.7>0.2)
    assert f.auc == pytest.approx(3 / 6)
    (rate_a, at_20), (rate_b, at_40) = f.at_rates
    assert (rate_a, at_20.precision, at_20.recall) == (0.2, 1.0, pytest.approx(1 / 3))
    assert (rate_b, at_40.precision, at_40.recall) == (0.4, 0.5, pytest.approx(1 / 3))


def test_auc_counts_ties_half_and_is_undefined_with_one_class():
    assert auc([True, False], [0.5, 0.5]) == 0.5
    assert auc([True, False, False], [0.9, 0.1, 0.2]) == 1.0
    assert auc([True, True], [0.1, 0.2]) != auc([True, True], [0.1, 0.2])  # NaN


def test_the_best_threshold_is_the_one_with_the_highest_macro_f1():
    threshold, macro = best_threshold([True, True, False, False], [0.9, 0.6, 0.5, 0.1])
    assert threshold == 0.6 and macro == 1.0
    assert top_share([True, False], [0.1, 0.9], 0.5).precision == 0.0
