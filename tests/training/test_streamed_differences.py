"""Families that train on differences: streaming chosen - rejected (and zeros) in place of
the two embeddings gives the same training, loss for loss, as streaming both."""

import numpy as np
import pytest
import torch

from pluralist.models import PreferenceData, build_model, family_names
from pluralist.models.registry import get_family
from pluralist.training.loop import TrainConfig, fit


def _data(n=1500, raters=12, dim=8):
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(60, dim))
    truth = rng.normal(size=(raters, dim))
    a, b, rater = rng.integers(0, 30, n), rng.integers(30, 60, n), rng.integers(0, raters, n)
    a_wins = np.einsum("nd,nd->n", truth[rater], vectors[a] - vectors[b]) > rng.normal(size=n)
    return PreferenceData.from_arrays(vectors, np.where(a_wins, a, b), np.where(a_wins, b, a), rater,
                                      n_raters=raters)


FLAGGED = [f for f in family_names() if get_family(f).trains_on_differences]


def test_the_linear_families_are_flagged():
    assert {"lowrank", "decomposed", "variational"} <= set(FLAGGED)


@pytest.mark.parametrize("family", FLAGGED)
def test_the_same_training_from_differences(family, monkeypatch):
    data, config = _data(), TrainConfig(epochs=3, batch_size=256, seed=0)
    runs = []
    for flag in (False, True):
        monkeypatch.setattr(get_family(family), "trains_on_differences", flag)
        model = build_model(family, dim=data.dim, raters=data.raters, seed=0)
        result = fit(model, data, np.arange(len(data)), config)
        runs.append(([h["train_loss"] for h in result.history], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for name, value in runs[0][1].items():
        assert torch.equal(value, runs[1][1][name]), name


def test_a_difference_batch_holds_the_difference_and_zeros():
    data = _data()
    rows = np.arange(100, 140)
    (_, got), = data.streamed_batches(rows, 64, differences=True)
    want = data.batch(rows)
    assert torch.equal(got.chosen, want.chosen - want.rejected)
    assert not got.rejected.any()
