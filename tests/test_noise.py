from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pluralist.models import PreferenceData
from pluralist.training.noise import (EMRates, FixedRate, channel_log_prob, most_plausible_per_rater,
                             with_label_weights)



@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.45])
def test_unbiased_loss_in_expectation_equals_the_clean_loss(rate):
    margin = torch.linspace(-6, 6, 49)
    keep, flip = FixedRate("unbiased", rate).label_weights(np.arange(49))
    unbiased = lambda d: -(keep * F.logsigmoid(d) + flip * F.logsigmoid(-d))
    # observed label correct with probability 1 - rate, reversed with probability rate
    expected = (1 - rate) * unbiased(margin) + rate * unbiased(-margin)
    assert torch.allclose(expected, -F.logsigmoid(margin), atol=1e-5)
    if rate == 0:
        assert torch.allclose(unbiased(margin), -F.logsigmoid(margin))


def test_label_smoothing_weights_and_weighted_batch():
    keep, flip = FixedRate("label-smoothing", 0.2).label_weights(np.arange(3))
    assert torch.allclose(keep, torch.full((3,), 0.8)) and torch.allclose(flip, torch.full((3,), 0.2))
    data = PreferenceData.from_arrays(np.eye(4), [0, 1, 2], [1, 2, 3], [0, 0, 0])
    batch = with_label_weights(data.batch([0, 1, 2]), keep, flip)
    assert len(batch) == 6
    assert torch.equal(batch.chosen[3:], data.batch([0, 1, 2]).rejected)
    assert torch.allclose(batch.weight, torch.tensor([0.8] * 3 + [0.2] * 3))
    from pluralist.errors import ModelError

    unflipped = with_label_weights(data.batch([0, 1, 2]), keep, torch.zeros(3))
    assert len(unflipped) == 3 and torch.allclose(unflipped.weight, keep)
    with pytest.raises(ModelError, match="flip rate"):
        FixedRate("unbiased", 0.5)


def test_channel_log_prob_is_the_probability_of_a_label_flipped_at_the_rate():
    from pluralist.models import build_model

    data = PreferenceData.from_arrays(np.random.default_rng(0).standard_normal((6, 3)),
                                      [0, 1, 2, 3], [1, 2, 3, 4], [0, 0, 0, 0])
    torch.manual_seed(0)
    model = build_model("bt", dim=3, raters=data.raters)
    batch = data.batch([0, 1, 2, 3])
    with torch.no_grad():
        p = torch.sigmoid(model.margin(batch))
        assert torch.allclose(channel_log_prob(model, batch, 0.0), model.log_prob(batch))
        rate = torch.tensor([0.1, 0.2, 0.3, 0.45])
        assert torch.allclose(channel_log_prob(model, batch, rate),
                              torch.log((1 - rate) * p + rate * (1 - p)), atol=1e-6)
        # at a rate of one half the label says nothing
        assert torch.allclose(channel_log_prob(model, batch, 0.5), torch.full((4,), np.log(0.5)))


def test_plausible_labels_are_chosen_within_each_rater():
    """A rater the model fits badly (all low log-probabilities) keeps the same share
    of their labels as the others: a minority taste is not silenced."""
    rater = np.array([0, 0, 0, 0, 1, 1, 1, 1, -1, -1])
    log_prob = np.array([-0.1, -0.2, -0.3, -0.4, -2.0, -2.5, -1.5, -3.0, -0.5, -0.6])
    kept = most_plausible_per_rater(log_prob, rater, 0.5)
    assert kept.tolist() == [True, True, False, False, True, False, True, False, True, False]
    assert most_plausible_per_rater(log_prob, rater, 0.01).sum() == 3   # at least one each


def test_em_converges_to_the_true_flip_rate_with_a_calibrated_model():
    from pluralist.models import build_model

    rng = np.random.default_rng(0)
    n, raters, true_rate = 20000, 50, 0.2
    logit = rng.normal(0, 3, n)                                   # clean log-odds, first item preferred
    first_wins = rng.random(n) < 1 / (1 + np.exp(-logit))
    flipped = rng.random(n) < true_rate
    observed_first = first_wins ^ flipped
    # item i's one-dimensional embedding is its clean logit (second items are 0), and a bt
    # model with weight 1 reproduces the clean probabilities exactly: a calibrated model
    vectors = np.concatenate([logit, np.zeros(n)])[:, None]
    first, second = np.arange(n), n + np.arange(n)
    data = PreferenceData.from_arrays(vectors, np.where(observed_first, first, second),
                                      np.where(observed_first, second, first),
                                      rng.integers(raters, size=n), n_raters=raters)
    model = build_model("bt", dim=1, raters=data.raters)
    with torch.no_grad():
        model.head.weight.fill_(1.0)
        model.head.bias.zero_()
    em = EMRates(n, data.raters, warmup_epochs=0)
    em.start_epoch(model, data, np.arange(n), ())
    assert abs(em.global_rate - true_rate) < 0.02
    assert abs(em.rater_rates.mean() - true_rate) < 0.02     # ~40 anchors each: noisy one by one
    assert np.abs(em.rater_rates - true_rate).mean() < 0.06
    # comparisons that really were flipped get a lower posterior of being correct
    assert em.correct[flipped].mean() < em.correct[~flipped].mean() - 0.2
    reported = em.report()["rater_rates"]     # by rater name, as saved with the model
    assert list(reported) == list(data.raters)
    assert reported[data.raters[7]] == pytest.approx(em.rater_rates[7], abs=1e-4)


def test_peer_review_keeps_a_cleaner_subset_than_random_selection():
    from pluralist.models import build_model
    from pluralist.training.noise import NoiseSpec, make_strategy
    from pluralist.training.loop import TrainConfig, fit

    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 12))
    utility = vectors @ (2.0 * rng.standard_normal(12))
    n = 6000
    a, b = rng.integers(300, size=n), rng.integers(300, size=n)
    b = np.where(a == b, (b + 1) % 300, b)
    a_wins = utility[a] > utility[b]                      # clean, decisive labels
    flipped = rng.random(n) < 0.3                          # planted flips
    observed = a_wins ^ flipped
    data = PreferenceData.from_arrays(vectors, np.where(observed, a, b), np.where(observed, b, a),
                                      np.zeros(n, int))
    torch.manual_seed(0)
    model = build_model("bt", dim=12, raters=data.raters)
    noise = make_strategy(NoiseSpec("peer-review", 0.3), data, model)
    fit(model, data, np.arange(n), TrainConfig(epochs=12, batch_size=256, patience=20, holdout="pairs"),
        noise=noise)
    kept = np.flatnonzero(noise.kept_for_model)
    assert len(kept) < 0.85 * n                                   # it did select
    assert flipped[kept].mean() < 0.5 * flipped.mean()           # far cleaner than the 30% at random


CONSENSUS, TASTE = np.array([3.0, 0, 0, 0, 0, 0]), np.array([0, 2.0, 0, 0, 0, 0])


def _fitted_on_simulated_raters(weights, seed: int, family: str, **options):
    """(simulation, data, model): 120 comparisons per rater with these true weights
    over 400 random 6-d items, and `family` fitted to them."""
    from pluralist.models import build_model
    from pluralist.training.loop import TrainConfig, fit

    from .simulate import Simulation

    vectors = np.random.default_rng(seed).standard_normal((400, 6))
    sim = Simulation(vectors, np.array(weights) @ vectors.T, per_rater=120, seed=seed)
    data = sim.data()
    torch.manual_seed(0)
    model = build_model(family, dim=6, raters=data.raters, **options)
    fit(model, data, np.arange(len(sim.rater)), TrainConfig(epochs=30, batch_size=256, lr=0.05))
    return sim, data, model


def _rater(**measured):
    """A RaterReliability with `measured` and ordinary values elsewhere."""
    from pluralist.robust.reliability import RaterReliability

    ordinary = dict(comparisons=100, flip_rate=0.1, flip_rate_interval90=(0.05, 0.2), anchor_comparisons=25,
                    own_model_accuracy=0.8, own_model_accuracy_interval90=(0.7, 0.9), reversal_gain=-0.2,
                    reversal_standard_error=0.05, reversal_interval90=(-0.28, -0.12))
    return RaterReliability(**{**ordinary, **measured})


def test_a_reversed_rater_is_flagged_and_a_consistent_minority_is_not():
    from pluralist.robust.reliability import rater_reliability

    # 40 majority raters (+taste), 6 minority raters (-taste), one reversed rater
    weights = [CONSENSUS + TASTE] * 40 + [CONSENSUS - TASTE] * 6 + [-(CONSENSUS + TASTE)]
    sim, data, model = _fitted_on_simulated_raters(weights, 7, "lowrank", rank=2)
    report = rater_reliability(model, data, {f"r{r}": sim.rows([r]) for r in range(47)})
    assert report.flagged["adversarial"] == ["r46"]
    minority = [report.raters[f"r{r}"] for r in range(40, 46)]
    assert all(not m.flags for m in minority)          # not even "possibly"
    reversed_rater = report.raters["r46"]
    assert reversed_rater.reversal_interval90[0] > 0.2
    assert max(m.reversal_interval90[1] for m in minority) < 0
    assert np.mean([report.raters[f"r{r}"].flip_rate for r in range(40)]) < 0.15


def test_a_rater_who_picks_at_random_is_flagged_random_and_nobody_else_is():
    from pluralist.robust.reliability import rater_reliability

    # 40 majority raters, 6 minority raters, and one whose utility is flat: every label a coin.
    # (Of simulation seeds 0-7, one gave the coin rater an own-model accuracy of 0.617 by
    # chance, above CONSISTENT: flagged possibly adversarial instead.)
    weights = [CONSENSUS + TASTE] * 40 + [CONSENSUS - TASTE] * 6 + [0 * CONSENSUS]
    sim, data, model = _fitted_on_simulated_raters(weights, 0, "lowrank", rank=2)
    report = rater_reliability(model, data, {f"r{r}": sim.rows([r]) for r in range(47)})
    assert report.flagged["random"] == ["r46"]
    assert report.raters["r46"].own_model_accuracy_interval90[1] < report.median_own_model_accuracy


def test_random_is_for_raters_surely_less_consistent_than_the_typical_one():
    """Under heavy noise every rater is near a coin: the typical rater is not flagged."""
    from pluralist.robust.reliability import _flags

    coin = _rater(reversal_interval90=(-0.1, 0.1), reversal_gain=0.0, own_model_accuracy=0.5,
                  own_model_accuracy_interval90=(0.42, 0.58))
    assert _flags(coin, True, typical_accuracy=0.75, z_floor=-1.0) == ["random"]
    assert _flags(coin, True, typical_accuracy=0.55, z_floor=-1.0) == []
    assert _flags(coin, False, typical_accuracy=0.75, z_floor=-1.0) == []      # no per-rater preferences


def test_voters_are_mixed_in_probability_not_in_log_probability():
    """A rater like one of two voters who disagree is explained with the mean of their
    probabilities; where the voters agree the mix is each of them."""
    from pluralist.robust.reversal import mixed_log_prob

    disagree = np.log([[0.9, 0.1], [0.6, 0.2]])
    assert mixed_log_prob(disagree) == pytest.approx(np.log([0.5, 0.4]))
    agree = np.log([[0.7, 0.7, 0.7]])
    assert mixed_log_prob(agree) == pytest.approx(np.log([0.7]))
    assert mixed_log_prob(np.array([[-800.0, -801.0]]))[0] == pytest.approx(-800.0 + np.log((1 + np.exp(-1)) / 2))


def test_reversed_raters_cannot_vouch_for_each_other_and_bt_only_gives_sure_flags():
    """Also: a rater who always picks the response shown first is flagged position-biased."""
    from pluralist.robust.reliability import rater_reliability

    # 40 majority, 6 minority and 5 reversed majority raters: the reversed ones
    # agree with each other, so only leaving them out of the voters exposes them
    weights = [CONSENSUS + TASTE] * 40 + [CONSENSUS - TASTE] * 6 + [-(CONSENSUS + TASTE)] * 5
    reversed_raters = {f"r{r}" for r in range(46, 51)}
    for family, options in (("lowrank", {"rank": 2}), ("bt", {})):
        sim, data, model = _fitted_on_simulated_raters(weights, 3, family, **options)
        rows = {f"r{r}": sim.rows([r]) for r in range(51)}
        # the order shown is recorded; r3 (otherwise an ordinary rater) chose the first every time
        chosen_first = (np.arange(len(sim.rater)) % 2).astype(np.int8)   # others: half and half
        chosen_first[sim.rows([3])] = 1
        report = rater_reliability(model, data, rows, chosen_first=chosen_first)
        assert report.flagged["position_biased"] == ["r3"]
        assert report.raters["r3"].chose_first_share == 1.0
        flagged = set(report.flagged["adversarial"]) | set(report.flagged["possibly_adversarial"])
        assert report.per_rater_preferences == (family == "lowrank")
        if family == "lowrank":
            assert flagged == reversed_raters
        else:  # a population model gives only the sure flag, never "random" or "possibly"
            assert not report.flagged["random"] and not report.flagged["possibly_adversarial"]
            assert set(report.flagged["adversarial"]) <= reversed_raters


def test_early_stopping_scores_validation_labels_under_the_noise_model():
    """With a flip rate, the loop's validation log-loss is the noisy-channel one."""
    from pluralist.models import build_model
    from pluralist.training.loop import TrainConfig, evaluate_rows, fit

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, 4))
    a, b = rng.integers(50, size=400), rng.integers(50, size=400)
    b = np.where(a == b, (b + 1) % 50, b)
    data = PreferenceData.from_arrays(vectors, a, b, np.zeros(400, int))
    torch.manual_seed(0)
    model = build_model("bt", dim=4, raters=data.raters)
    noise = FixedRate("unbiased", 0.3)
    rows = np.arange(400)
    result = fit(model, data, rows, TrainConfig(epochs=3, val_fraction=0.0), noise=noise)
    channel = evaluate_rows(model, data, rows, noise)["log_loss"]
    assert result.best_val_log_loss == pytest.approx(channel, rel=1e-6)
    assert channel != pytest.approx(evaluate_rows(model, data, rows)["log_loss"], rel=1e-3)


def test_peer_review_scores_validation_labels_at_its_rate_from_the_first_epoch():
    """Warming up, it keeps every label, but the validation labels are still noisy."""
    from pluralist.models import build_model
    from pluralist.training.noise import NoiseSpec, make_strategy

    data = PreferenceData.from_arrays(np.random.default_rng(0).standard_normal((6, 3)),
                                      [0, 1, 2, 3], [1, 2, 3, 4], [0, 0, 0, 0])
    torch.manual_seed(0)
    model = build_model("bt", dim=3, raters=data.raters)
    review = make_strategy(NoiseSpec("peer-review", 0.3), data, model)
    batch = data.batch([0, 1, 2, 3])
    assert review.keep_share == 1.0
    with torch.no_grad():
        assert torch.allclose(review.observed_log_prob(model, batch), channel_log_prob(model, batch, 0.3))


@pytest.mark.parametrize("method", ["label-smoothing", "unbiased", "peer-review"])
@pytest.mark.parametrize("rate", [-0.2, 0.5, 0.7])
def test_a_flip_rate_outside_zero_to_one_half_is_refused(method, rate):
    from pluralist.errors import ModelError
    from pluralist.training.noise import NoiseSpec

    with pytest.raises(ModelError, match="flip rate"):
        NoiseSpec(method, rate)


@pytest.mark.parametrize("method, rate", [("none", 0.3), ("em", 0.2), ("label-smoothing", 0.0),
                                          ("unbiased", 0.0)])
def test_a_flip_rate_is_refused_where_unused_and_required_where_needed(method, rate):
    from pluralist.errors import ModelError
    from pluralist.training.noise import NoiseSpec

    with pytest.raises(ModelError, match="flip rate"):
        NoiseSpec(method, rate)


def test_the_peer_trains_with_the_step_size_the_model_is_given(monkeypatch):
    import pluralist.training.recipe
    from pluralist.training import NoiseSpec, TrainConfig, train

    data = PreferenceData.from_arrays(np.random.default_rng(0).standard_normal((6, 3)),
                                      [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0], [0, 0, 0, 1, 1, 1])
    made, make = [], pluralist.training.recipe.make_strategy
    monkeypatch.setattr(pluralist.training.recipe, "make_strategy",
                        lambda *a, **k: made.append(make(*a, **k)) or made[-1])
    train(data, np.arange(6), "bt", config=TrainConfig(epochs=1, lr=3e-3),
          noise=NoiseSpec("peer-review", 0.2))
    assert made[0].optimizer.lr == 3e-3


def test_voter_margins_are_computed_once_when_they_fit_and_the_gains_do_not_depend_on_it(monkeypatch):
    """Above CACHE_BYTES the margins are recomputed every round: the same gains either way."""
    from pluralist.robust import reversal as consensus

    weights = [CONSENSUS + TASTE] * 20 + [-(CONSENSUS + TASTE)] * 3   # reversed: more than one round
    sim, data, model = _fitted_on_simulated_raters(weights, 3, "lowrank", rank=2)
    rows = {f"r{r}": sim.rows([r]) for r in range(23)}
    calls = []
    counted = consensus.voter_margins
    monkeypatch.setattr(consensus, "voter_margins", lambda *a, **k: calls.append(1) or counted(*a, **k))
    kept, differ = consensus.reversal_gains(model, data, rows)
    assert len(calls) == 1 and differ      # 23 raters: one chunk, computed once for every round
    monkeypatch.setattr(consensus, "CACHE_BYTES", 0)
    recomputed, _ = consensus.reversal_gains(model, data, rows)
    assert len(calls) > 2                  # at least two rounds, each computing again
    assert all(np.array_equal(kept[r], recomputed[r]) for r in rows)


def test_a_reversal_must_stand_out_from_the_typical_rater_to_be_flagged():
    """Where every rater's gain is near zero (the model cannot tell raters from their
    reversal), an interval above zero by chance is not enough."""
    from pluralist.robust.reliability import _flags, outlier_floor

    sure = _rater(reversal_interval90=(0.01, 0.05), reversal_gain=0.03, reversal_standard_error=0.012,
                  own_model_accuracy=0.8, own_model_accuracy_interval90=(0.7, 0.9))     # z = 2.5
    possible = replace(sure, reversal_interval90=(-0.01, 0.07), reversal_standard_error=0.025)   # z = 1.2
    assert _flags(sure, True, 0.8, z_floor=-1.0) == ["adversarial"]
    assert _flags(possible, True, 0.8, z_floor=-1.0) == ["possibly_adversarial"]
    assert _flags(sure, True, 0.8, z_floor=3.0) == [] and _flags(possible, True, 0.8, z_floor=1.5) == []
    # normal scores: the floor is the median plus two standard deviations, whatever the upper tail holds
    z = np.concatenate([np.random.default_rng(0).standard_normal(4000) - 4, np.full(400, 5.0)])
    clean, contaminated = outlier_floor(z[:4000]), outlier_floor(z)
    assert clean == pytest.approx(-2.0, abs=0.1)
    assert 0 < contaminated - clean < 0.35   # 9% at z = 5 move the median a little, the lower spread hardly


def test_without_a_shared_taste_few_raters_stand_out_as_reversed(monkeypatch):
    """80 raters with random tastes and nothing all agree on: a reversed taste is just
    another rater's, and chance put a third of them above the possibly-adversarial
    threshold before raters had to stand out (31 of 80 on this draw; 27 to 34 on four)."""
    from pluralist.robust import reliability

    weights = np.random.default_rng(100).standard_normal((80, 6)) * 2.0
    weights[:, 0] = 0                                          # no consensus direction
    sim, data, model = _fitted_on_simulated_raters(list(weights), 0, "lowrank", rank=4)
    rows = {f"r{r}": sim.rows([r]) for r in range(80)}
    count = lambda report: len(report.flagged["adversarial"]) + len(report.flagged["possibly_adversarial"])  # noqa: E731
    flagged = count(reliability.rater_reliability(model, data, rows))
    monkeypatch.setattr(reliability, "OUTLIER_SPREADS", -np.inf)   # every rater stands out
    unfiltered = count(reliability.rater_reliability(model, data, rows))
    assert flagged <= 8 and unfiltered >= 3 * flagged
