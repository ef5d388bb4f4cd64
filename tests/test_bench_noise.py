"""The arithmetic bench/noise.py judges the noise targets with (the README quotes it)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest


def _bench_script(name: str):
    """A script under bench/ (not a package) loaded as a module."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).parents[1] / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_noise = _bench_script("noise")


def test_flag_scores_count_false_flags_and_score_the_true_ones():
    flagged = {"adversarial": ["a1", "o1"], "possibly_adversarial": ["a2", "m1"], "random": []}
    scores = bench_noise.flag_scores(flagged, adversarial={"a1", "a2", "a3"}, minority={"m1", "m2"})
    assert scores["false_adversarial_flags"] == 1 and scores["false_possible_flags"] == 1
    assert scores["false_flags_in_minority"] == 1
    assert scores["adversarial_flag_precision"] == 0.5 and scores["adversarial_flag_recall"] == pytest.approx(1 / 3)
    assert scores["adversarial_or_possible_flag_precision"] == 0.5
    assert scores["adversarial_or_possible_flag_recall"] == pytest.approx(2 / 3)
    nothing_to_find = bench_noise.flag_scores({**flagged, "random": []}, adversarial=set(), minority=set())
    assert "adversarial_flag_precision" not in nothing_to_find and "random_flag_recall" not in nothing_to_find
    assert nothing_to_find["false_adversarial_flags"] == 2


def test_flag_scores_score_the_random_flag_against_careless_raters():
    flagged = {"adversarial": ["c3"], "possibly_adversarial": [], "random": ["c1", "o1", "a1"]}
    scores = bench_noise.flag_scores(flagged, adversarial={"a1"}, minority=set(), careless={"c1", "c2", "c3"})
    assert scores["random_flag_precision"] == pytest.approx(1 / 3)
    assert scores["random_flag_recall"] == pytest.approx(1 / 3)
    # a careless rater flagged adversarial is not an ordinary rater falsely flagged
    assert scores["false_adversarial_flags"] == 0 and scores["false_random_flags"] == 1


def _rows(accuracy: dict, unguarded: dict) -> list[dict]:
    """Per-seed rows of every condition the targets read; `accuracy[(seed, level, method)]`,
    `unguarded[(seed, method)]` without a validation split at 0.4."""
    rows = []
    cells = [("symmetric", *key, value) for key, value in accuracy.items()]
    cells += [(bench_noise.NO_VALIDATION, seed, 0.4, method, value) for (seed, method), value in unguarded.items()]
    for condition, seed, level, method, value in cells:
        rows.append({"seed": seed, "condition": condition, "level": level, "family": "f", "method": method,
                     "assumed_rate": None, "clean_accuracy": value, "minority_clean_accuracy": value - 0.1,
                     "em_flip_rate": 0.2})
    for seed in (1, 2):
        rows.append({"seed": seed, "condition": "adversarial", "level": 0.05, "family": "f", "method": "none",
                     "assumed_rate": None, "adversarial_flag_precision": 1.0, "adversarial_flag_recall": 0.5,
                     "adversarial_or_possible_flag_precision": 0.8, "adversarial_or_possible_flag_recall": 0.9})
    return rows


def test_targets_take_differences_within_a_draw():
    from pluralist.training.noise import NOISE_METHODS

    accuracy, unguarded = {}, {}
    for seed, plain in ((1, 0.50), (2, 0.60)):
        for method in NOISE_METHODS:   # without validation, unbiased gains 1 and 3 points
            unguarded[(seed, method)] = plain - 0.02 + (0.01 if seed == 1 else 0.03) * (method == "unbiased")
        for level in (0.0, 0.1, 0.2, 0.4):
            for method in NOISE_METHODS:
                accuracy[(seed, level, method)] = plain
        accuracy[(seed, 0.4, "em")] = plain + (0.04 if seed == 1 else 0.06)   # gains 4 and 6 points
        accuracy[(seed, 0.0, "em")] = plain - 0.01
        accuracy[(seed, 0.4, "clean-share")] = 0.55
    target = bench_noise.targets(_rows(accuracy, unguarded))["f"]
    assert target["best_robust_at_0.4"] == "em"
    assert target["gain_at_0.4"] == pytest.approx(0.05)
    assert target["gain_at_0.4_se"] == pytest.approx(np.std([0.04, 0.06], ddof=1) / np.sqrt(2))
    assert target["loss_at_0_of_that_option"] == pytest.approx(0.01)
    assert target["plain_at_0.4"] == pytest.approx(0.55) and target["clean_share_reference_at_0.4"] == 0.55
    assert target["flag_or_possible_recall_at_5pct"] == 0.9
    assert target["best_robust_at_0.4_without_validation"] == "unbiased"
    assert target["gain_at_0.4_without_validation"] == pytest.approx(0.02)
    assert target["plain_at_0.4_without_validation"] == pytest.approx(0.53)


def test_means_over_seeds_skip_unknowns_and_keep_counts():
    rows = [{"seed": s, "condition": "c", "level": 0.1, "family": "f", "method": "none", "assumed_rate": None,
             "clean_accuracy": acc, "false_possible_flags": flags, "adversarial_flag_precision": precision}
            for s, acc, flags, precision in ((1, 0.5, 2, None), (2, 0.7, 5, 0.8))]
    (mean,) = bench_noise.mean_over_seeds(rows)
    assert mean["clean_accuracy"] == pytest.approx(0.6) and mean["false_possible_flags"] == 3.5
    assert mean["adversarial_flag_precision"] == 0.8   # over the draws where anything was flagged


def _target(**changes) -> dict:
    t = {"gain_at_0.4": 0.05, "target_gain_at_0.4": 0.05, "loss_at_0_of_that_option": 0.005,
         "target_loss_at_0": 0.005, "largest_minority_drop_of_that_option": 0.01, "target_minority_drop": 0.01,
         "em_rate_at_0.2": 0.25, "target_em_rate_at_0.2": [0.15, 0.25], "target_flags": 0.9,
         "flag_precision_at_5pct": 0.9, "flag_recall_at_5pct": 1.0,
         "flag_or_possible_precision_at_5pct": 0.95, "flag_or_possible_recall_at_5pct": 0.9}
    return {**t, **changes}


def test_a_target_on_its_line_is_met_and_one_just_beside_it_is_not():
    assert all(bench_noise.targets_met(_target()).values())
    beside = {"gain_at_0.4": 0.0499, "loss_at_0_of_that_option": 0.0051,
              "largest_minority_drop_of_that_option": 0.0101, "em_rate_at_0.2": 0.2501,
              "flag_recall_at_5pct": 0.8996, "flag_or_possible_precision_at_5pct": None}
    met = bench_noise.targets_met(_target(**beside))
    assert not any(met.values())
    assert bench_noise.targets_met(_target(**{"em_rate_at_0.2": 0.1499}))["em_rate_at_0.2"] is False


def test_shares_are_cut_so_a_miss_never_reads_as_the_target():
    tables = _bench_script("tables")
    assert tables._share(0.8996) == "0.899" and tables._share(0.9) == "0.900" and tables._share(None) == "-"


def test_flag_threshold_scores_count_what_each_threshold_flags():
    flag_threshold = _bench_script("flag_threshold")
    rater = lambda adversarial, minority, gain, stands_out=True: {  # noqa: E731
        "adversarial": adversarial, "minority": minority, "gain": gain, "standard_error": 0.1,
        "stands_out": stands_out}
    draw = [rater(True, False, 0.3), rater(True, False, 0.04), rater(False, True, 0.03), rater(False, False, -0.2),
            rater(False, False, 0.5, stands_out=False)]   # above every threshold, like the typical rater
    noisy = [[rater(False, False, 0.03), rater(False, True, 0.2), rater(False, False, -0.1)]]
    many = [[rater(True, False, 0.3), rater(True, False, 0.01), rater(False, False, 0.02)]]
    low, high = flag_threshold.scores([draw], many, noisy, 0.0), flag_threshold.scores([draw], many, noisy, 0.5)
    assert (low["precision"], low["recall"], low["minority_false_alarms"]) == (pytest.approx(2 / 3), 1.0, 1)
    assert (high["precision"], high["recall"], high["minority_false_alarms"]) == (1.0, 0.5, 0)
    assert (low["false_flags_under_noise"], high["false_flags_under_noise"]) == (2.0, 1.0)
    assert (low["precision_at_20pct"], low["recall_at_20pct"]) == (pytest.approx(2 / 3), 1.0)
    assert (high["precision_at_20pct"], high["recall_at_20pct"]) == (1.0, 0.5)
