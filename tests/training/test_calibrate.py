"""How far a new rater's fit is trusted: known answers for the calibration after training
and for the per-rater check at adaptation."""

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from pluralist.models import build_model
from pluralist.training import TrainConfig, train
from pluralist.training.calibrate import (SURE_GAIN_SE, choose_trust, seen_as_new, sure_gain,
                                          sure_gain_errors)
from tests.simulate import Simulation


def _world(taste: float, seed: int = 0, raters: int = 60):
    """Raters sharing one consensus reward, each with their own `taste` on top."""
    rng = np.random.default_rng(seed)
    consensus = np.array([3.0, 0, 0, 0, 0, 0])
    weights = np.array([consensus + taste * rng.standard_normal(6) for _ in range(raters)])
    vectors = rng.standard_normal((300, 6))
    return Simulation(vectors, weights @ vectors.T, per_rater=120, seed=seed)


def _trusted(taste: float) -> dict:
    sim = _world(taste)
    data = sim.data(raters_known=60)
    model, result, prior = train(data, np.arange(len(data)), "lowrank", options={"rank": 4},
                                 config=TrainConfig(epochs=10))
    return prior["trust"]


def test_identical_raters_are_never_moved_from_the_population():
    assert set(_trusted(0.0).values()) == {0.0}


def test_raters_who_differ_are_trusted_once_they_have_said_enough():
    trust = _trusted(3.0)
    assert trust["20"] > 0 and trust["50"] > 0


def test_adaptation_follows_the_trust_chosen_for_its_k():
    model = build_model("lowrank", dim=6, raters=("a",), rank=2, seed=0)
    model.trust_shots, model.trust = torch.tensor([1, 10]), torch.tensor([0.0, 1.0])
    assert model.trust_at(0) == 1.0 and model.trust_at(5) == 0.0 and model.trust_at(30) == 1.0


def test_trust_zero_is_the_population_exactly():
    sim = _world(2.0)
    data = sim.data(raters_known=60)
    model = build_model("lowrank", dim=6, raters=data.raters, rank=2, seed=0)
    profile = model.fit_profile(data.batch(np.arange(20)))
    population = model.population_theta().detach().numpy()
    np.testing.assert_allclose(model.shrink(profile, 0.0).values["theta"], population, atol=1e-7)
    np.testing.assert_allclose(model.shrink(profile, 1.0).values["theta"], profile.values["theta"])


def test_choose_trust_keeps_the_population_without_a_sure_gain():
    sim = _world(0.0)
    data = sim.data(raters_known=60)
    rows = np.arange(len(data))
    model = build_model("lowrank", dim=6, raters=data.raters, rank=2, seed=0)
    chosen = choose_trust(model, data, seen_as_new(data, rows, rows, shots=(5,)))["chosen"]
    assert chosen == {"5": 0.0}


def test_a_gain_is_sure_only_beyond_two_standard_errors():
    assert SURE_GAIN_SE == 2.0
    spread = np.array([-1.0, 1.0] * 50)                 # standard error 0.1005 over 100 trials
    se = spread.std(ddof=1) / np.sqrt(len(spread))
    assert not sure_gain(spread + 1.5 * se)              # trusted under the old one-error rule
    assert sure_gain(spread + 2.5 * se)
    assert not sure_gain(np.array([0.3]))                # one trial: no error to judge by


def test_few_trials_ask_for_more_standard_errors_as_students_t_does():
    # one degree of freedom is Cauchy's distribution, whose quantiles are closed-form
    assert sure_gain_errors(2) == pytest.approx(np.tan(np.pi * (ndtr(2.0) - 0.5)), rel=1e-9)
    assert sure_gain_errors(10_000) == pytest.approx(2.0, abs=0.002)
    assert sure_gain_errors(8) > sure_gain_errors(20) > sure_gain_errors(100) > 2.0
    spread = np.array([-1.0, 1.0] * 4)                   # 8 trials
    se = spread.std(ddof=1) / np.sqrt(len(spread))
    assert not sure_gain(spread + 2.2 * se)              # two errors, but over 8 trials
    assert sure_gain(spread + 2.6 * se)
