"""The one training loop: step-size halving on plateaus, patience, the best epoch restored,
and the validation split.

Most tests use a model whose every step is known: its loss is its one weight w, so
the gradient is always 1 and each AdamW step moves w by exactly the step size (Adam
divides the mean gradient by its root mean square: 1/1). With one batch per epoch,
w's change over an epoch *is* that epoch's step size. The validation log-loss is
scripted by replacing `evaluate_rows`, so the plateaus fall where the test says.
"""

import numpy as np
import pytest
import torch
from torch import nn

from pluralist.models import PreferenceData, PreferenceModel, build_model
from pluralist.models.base import ModelConfig
from pluralist.training import loop
from pluralist.training.loop import TrainConfig, evaluate_rows, fit

N_ROWS = 20


class Stepper(PreferenceModel):
    """Loss w: every AdamW step lowers w by the step size. Records the rows it is given."""

    family = "stepper"

    def __init__(self, *, dim=2, raters=("a", "b")):
        super().__init__(ModelConfig(), dim=dim, raters=raters)
        self.w = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
        self.prepared_rows = None

    def margin(self, batch):
        return self.w.float().expand(len(batch))

    def loss(self, batch):
        return self.w

    def prepare(self, data, rows):
        self.prepared_rows = np.array(rows)


def _data(n=N_ROWS):
    rng = np.random.default_rng(0)
    return PreferenceData.from_arrays(rng.normal(size=(6, 2)), rng.integers(0, 3, n),
                                      rng.integers(3, 6, n), rng.integers(0, 2, n), n_raters=2)


def _scripted(monkeypatch, log_losses):
    """Replace the loop's validation with `log_losses`, one per epoch; returns the
    calls seen: (w at that evaluation, validation rows)."""
    calls = []

    def evaluate(model, data, rows, noise=None):
        calls.append((float(model.w.detach()), np.array(rows)))
        return {"accuracy": 0.5, "log_loss": log_losses[len(calls) - 1]}

    monkeypatch.setattr(loop, "evaluate_rows", evaluate)
    return calls


def _fit(model, **config):
    options = {"epochs": 20, "batch_size": 512, "lr": 0.01, "val_fraction": 0.25, "patience": 3}
    return fit(model, _data(), np.arange(N_ROWS), TrainConfig(**{**options, **config}))


# improves at epochs 1, 2 and 5; plateaus at 3, 4, 6, 7 and 8 (the third in a row: stop)
SCRIPT = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.1, 0.1]


def test_the_step_size_halves_at_each_epoch_without_improvement(monkeypatch):
    calls = _scripted(monkeypatch, SCRIPT)
    _fit(Stepper())
    w = np.array([0.0] + [c[0] for c in calls])
    steps = -np.diff(w)   # each epoch's step size
    # the halving follows the epoch's validation, so it shows in the next epoch's step;
    # an improvement keeps the step size reached (it is not reset)
    expected = 0.01 * np.array([1, 1, 1, 0.5, 0.25, 0.25, 0.125, 0.0625])
    np.testing.assert_allclose(steps, expected, rtol=1e-6)


def test_training_stops_after_patience_plateaus_in_a_row(monkeypatch):
    _scripted(monkeypatch, SCRIPT)
    result = _fit(Stepper())
    assert result.epochs_run == 8 and len(result.history) == 8
    assert [h["log_loss"] for h in result.history] == SCRIPT[:8]
    assert [h["epoch"] for h in result.history] == list(range(1, 9))


@pytest.mark.parametrize("patience", [1, 2, 5])
def test_a_flat_validation_loss_runs_patience_plus_one_epochs(monkeypatch, patience):
    _scripted(monkeypatch, [1.0] * 20)
    result = _fit(Stepper(), patience=patience)
    assert result.epochs_run == patience + 1 and result.best_epoch == 1


def test_an_improvement_under_the_tolerance_is_a_plateau(monkeypatch):
    """Gains below 1e-5 in log-loss are noise: they count against patience."""
    _scripted(monkeypatch, [1.0, 1.0 - 5e-6, 1.0 - 9e-6, 0.5])
    result = _fit(Stepper(), patience=2)
    assert result.epochs_run == 3 and result.best_epoch == 1


def test_the_epoch_limit_ends_training_without_a_plateau(monkeypatch):
    _scripted(monkeypatch, [1.0 - 0.1 * i for i in range(5)])
    result = _fit(Stepper(), epochs=5)
    assert result.epochs_run == 5 and result.best_epoch == 5


def test_the_best_epochs_state_is_restored(monkeypatch):
    calls = _scripted(monkeypatch, SCRIPT)
    model = Stepper()
    result = _fit(model)
    assert result.best_epoch == 5 and result.best_val_log_loss == 0.8
    # w kept moving for three more epochs, and came back to where it was at epoch 5
    assert calls[-1][0] < calls[4][0]
    assert float(model.w.detach()) == calls[4][0]
    assert not model.training   # returned ready to score


def test_validation_rows_are_held_out_from_training(monkeypatch):
    calls = _scripted(monkeypatch, SCRIPT)
    model = Stepper()
    _fit(model, val_fraction=0.25, holdout="pairs")
    train, val = model.prepared_rows, calls[0][1]
    assert len(val) == 5 and len(train) == 15    # round(0.25 * 20)
    assert not set(train) & set(val) and sorted([*train, *val]) == list(range(N_ROWS))
    assert all(np.array_equal(rows, val) for _, rows in calls)   # the same rows every epoch


def test_val_fraction_zero_trains_and_validates_on_every_row(monkeypatch):
    calls = _scripted(monkeypatch, SCRIPT)
    model = Stepper()
    _fit(model, val_fraction=0)
    assert np.array_equal(model.prepared_rows, np.arange(N_ROWS))
    assert all(np.array_equal(rows, np.arange(N_ROWS)) for _, rows in calls)


def test_a_real_family_returns_its_best_validation_epoch():
    """Without scripting: a step size so large the loss jumps about; the model returned
    scores its own (training = validation) rows as the best epoch did."""
    from pluralist.models import build_model

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 8))
    chosen, rejected = rng.integers(0, 30, 200), rng.integers(0, 30, 200)
    data = PreferenceData.from_arrays(vectors, chosen, rejected, rng.integers(0, 4, 200), n_raters=4)
    model = build_model("bt", dim=8, raters=data.raters, seed=0)
    result = fit(model, data, np.arange(200),
                 TrainConfig(epochs=12, batch_size=16, lr=0.5, val_fraction=0, patience=12))
    losses = [h["log_loss"] for h in result.history]
    assert result.best_val_log_loss == pytest.approx(min(losses), abs=1e-5)
    assert result.best_epoch < result.epochs_run      # later epochs were worse: restored
    assert evaluate_rows(model, data, np.arange(200))["log_loss"] == pytest.approx(
        result.best_val_log_loss, rel=1e-6)


def test_validation_rows_share_no_text_with_the_same_raters_training_rows():
    """Pairs made from one rater's ratings share texts: held out by texts, the rows that
    would link the validation part to training are trained on by neither."""
    rng = np.random.default_rng(0)
    texts, raters, n = 12, 3, 300
    chosen = rng.integers(texts, size=n)
    rejected = (chosen + 1 + rng.integers(texts - 1, size=n)) % texts
    data = PreferenceData.from_arrays(rng.normal(size=(texts, 4)), chosen, rejected,
                                      np.arange(n) % raters, n_raters=raters)
    result = fit(build_model("bt", dim=4, raters=data.raters), data, np.arange(n),
                 TrainConfig(epochs=2, val_fraction=0.2))
    assert len(result.val_rows) and result.validation["held_out_by"] == "texts"
    for r in range(raters):
        own = lambda rows: rows[data.rater.numpy()[rows] == r]
        train, val = own(result.train_rows), own(result.val_rows)
        used = set(chosen[train]) | set(rejected[train])
        assert not (set(chosen[val]) | set(rejected[val])) & used
    assert result.validation["dropped"] == n - len(result.train_rows) - len(result.val_rows) > 0
