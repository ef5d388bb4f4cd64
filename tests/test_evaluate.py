import numpy as np
import pytest

from pluralist.metrics import (bootstrap_over_raters, brier, correct, log_loss, calibration,
                                summarize, worst_fraction_mean)


def test_ties_count_one_half():
    margin = np.array([1.0, -1.0, 0.0, 2.0])
    tie = np.array([False, False, False, True])
    assert correct(margin, tie).tolist() == [1.0, 0.0, 0.5, 0.5]


def test_log_loss_and_brier_by_hand():
    margin, tie = np.array([0.0, np.log(3)]), np.zeros(2, bool)   # p = 0.5, 0.75
    assert log_loss(margin, tie) == pytest.approx((np.log(2) + np.log(4 / 3)) / 2)
    assert brier(margin, tie) == pytest.approx((0.25 + 0.0625) / 2)


def test_perfectly_calibrated_predictions_have_small_ece():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 0.99, 20000)
    outcome = rng.random(20000) < p                 # chosen really wins with probability p
    margin = np.where(outcome, 1, -1) * np.log(p / (1 - p))
    assert calibration(margin, np.zeros(20000, bool))["ece"] < 0.02
    overconfident = calibration(3 * margin, np.zeros(20000, bool))["ece"]
    assert overconfident > 0.1


def test_bootstrap_interval_contains_the_mean_and_widens_with_fewer_raters():
    rng = np.random.default_rng(1)
    values = rng.random(2000) < 0.7
    many = bootstrap_over_raters(values.astype(float), np.arange(2000) % 200)
    few = bootstrap_over_raters(values.astype(float), np.arange(2000) % 5)
    assert many[0] < values.mean() < many[1]
    assert few[1] - few[0] > many[1] - many[0]


def test_summary_reports_groups_worst_raters_and_bayes():
    margin = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0])
    raters = np.array(["a", "a", "b", "b", "c", "c"])
    groups = np.array(["g", "g", "h", "h", "h", "h"])
    p_true = np.full(6, 0.8)
    out = summarize(margin, np.zeros(6, bool), raters, groups, p_true=p_true)
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["per_group_accuracy"] == {"g": 1.0, "h": 0.25}
    assert out["worst_group"] == "h"
    assert out["per_rater_accuracy"]["worst_10pct"] == 0.0
    assert out["bayes_accuracy"] == pytest.approx(0.8) and out["gap_to_bayes"] == pytest.approx(0.3)
    assert worst_fraction_mean(np.array([0.1, 0.9, 0.5]), 0.5) == pytest.approx(0.3)
