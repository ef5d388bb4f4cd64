"""Many raters solved at once agree with solving them one by one, and the contract's
batched fit equals fit_profile run by run, for every family."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pluralist.models import PreferenceData, build_model
from pluralist.models.registry import family_names
from pluralist.models.solve import solve_linear_rater
from pluralist.models.solve_batched import solve_linear_raters


def problems(seed: int, runs: int = 40, k: int = 12, params: int = 5):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(runs, k)), 2 * rng.normal(size=(runs, k, params)),
            rng.random((runs, k)) < 0.15, np.abs(rng.normal(size=(runs, k))) * (rng.random((runs, k)) < 0.3),
            0.2 * rng.normal(size=params))


@pytest.mark.parametrize("seed, precision", [(0, 1e-3), (1, 0.1), (2, 10.0)])
def test_batched_newton_matches_one_by_one(seed, precision):
    offset, design, tie, strength, prior = problems(seed)
    together = solve_linear_raters(offset, design, tie, strength, prior, precision)
    apart = np.stack([solve_linear_rater(offset[i], design[i], tie[i], strength[i], prior, precision)
                      for i in range(len(offset))])
    np.testing.assert_allclose(together, apart, atol=1e-6)


def test_a_separable_run_and_an_overflowing_one_do_not_disturb_the_others():
    offset, design, tie, strength, prior = problems(3, runs=6)
    design[1] *= 1e20          # singular in floating point (see test_solve)
    design[2] = np.abs(design[2])   # every comparison won on every feature: separable
    together = solve_linear_raters(offset, design, tie, strength, prior, 1e-3)
    assert np.isfinite(together).all()
    for i in (0, 3, 4, 5):
        alone = solve_linear_rater(offset[i], design[i], tie[i], strength[i], prior, 1e-3)
        np.testing.assert_allclose(together[i], alone, atol=1e-6)


@pytest.mark.parametrize("family", family_names())
def test_fit_profiles_equals_fit_profile_run_by_run(family):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = PreferenceData.from_arrays(rng.standard_normal((30, 6)).astype(np.float32),
                                      rng.integers(30, size=48), rng.integers(30, size=48),
                                      np.zeros(48, dtype=int))
    model = build_model(family, dim=6, raters=("a",), seed=0)
    batch = data.batch(np.arange(48))
    together = model.fit_profiles(batch, 8)
    apart = [model.fit_profile(data.batch(np.arange(s, s + 8))) for s in range(0, 48, 8)]
    assert len(together) == 6
    for one, other in zip(together, apart):
        for key in other.values:
            np.testing.assert_allclose(one.values[key], other.values[key], atol=1e-6)
