"""The epoch_order hook: a plain shuffle by default (the loop's old order, draw for draw);
variational visits each rater's rows in runs of at most RUN_CONTEXTS contexts."""

import numpy as np

from pluralist.models import PreferenceData, build_model
from pluralist.models.families.variational import RUN_CONTEXTS


def _data(n=600, raters=7):
    rng = np.random.default_rng(1)
    return PreferenceData.from_arrays(rng.normal(size=(30, 4)), rng.integers(0, 15, n),
                                      rng.integers(15, 30, n), rng.integers(0, raters, n), n_raters=raters)


def test_the_default_order_is_the_shuffle_the_loop_drew_before():
    data, rows = _data(), np.arange(10, 500)
    model = build_model("lowrank", dim=4, raters=data.raters)
    got = model.epoch_order(data, rows, np.random.default_rng(5))
    np.testing.assert_array_equal(got, np.random.default_rng(5).permutation(rows))


def test_variational_runs_are_one_rater_each_and_every_row_comes_once():
    limit = RUN_CONTEXTS * 5
    n, raters = 7 * 2 * limit, 7                   # each rater has exactly two runs' worth of rows
    rng = np.random.default_rng(1)
    data = PreferenceData.from_arrays(rng.normal(size=(30, 4)), rng.integers(0, 15, n), rng.integers(15, 30, n),
                                      rng.permutation(np.repeat(np.arange(raters), 2 * limit)), n_raters=raters)
    model = build_model("variational", dim=4, raters=data.raters, context=5)
    order = model.epoch_order(data, np.arange(n), np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    windows = data.rater.numpy()[order].reshape(-1, limit)
    assert (windows == windows[:, :1]).all()       # every run of `limit` rows is one rater's
    np.testing.assert_array_equal(np.bincount(windows[:, 0]), [2] * raters)
    assert not np.all(np.diff(windows[:, 0]) >= 0)  # the runs are shuffled, not in rater order


def test_variational_orders_differ_between_epochs():
    data, rows = _data(), np.arange(600)
    model = build_model("variational", dim=4, raters=data.raters)
    rng = np.random.default_rng(0)
    assert not np.array_equal(model.epoch_order(data, rows, rng), model.epoch_order(data, rows, rng))
