"""Every family builds and scores when the embedding has fewer dimensions than the
family's rank (a small hashing encoder, or a toy problem in a test)."""

import numpy as np
import pytest
import torch

from pluralist.models import UNKNOWN_RATER, PreferenceData, build_model, family_names

DIM = 4   # below every family's default rank


@pytest.mark.parametrize("name", family_names())
def test_a_family_scores_with_fewer_dimensions_than_its_rank(name):
    rng = np.random.default_rng(0)
    data = PreferenceData.from_arrays(rng.normal(size=(20, DIM)), rng.integers(0, 10, 50),
                                      rng.integers(10, 20, 50), np.arange(50) % 5, n_raters=5)
    model = build_model(name, dim=DIM, raters=data.raters, seed=0)
    rows = np.arange(len(data))
    model.prepare(data, rows)
    model.e_step(data, rows)
    model.finalize(data, rows)
    batch = data.batch(np.arange(10))
    with torch.no_grad():
        margin = model.margin(batch)
        reward = model.reward(torch.full((10,), UNKNOWN_RATER), batch.chosen, batch.prompt)
    assert margin.shape == reward.shape == (10,)
    assert torch.isfinite(margin).all() and torch.isfinite(reward).all()
