"""streamed_batches: the same comparisons as `batch`, in order, gathered into reused buffers."""

import numpy as np
import torch

from pluralist.models import PreferenceData


def _data(n=50):
    rng = np.random.default_rng(3)
    return PreferenceData.from_arrays(rng.normal(size=(12, 5)), rng.integers(0, 6, n), rng.integers(6, 12, n),
                                      rng.integers(0, 4, n), prompt=rng.integers(0, 12, n),
                                      tie=rng.random(n) < 0.3, strength=rng.random(n))


def test_every_field_matches_a_fresh_batch_of_the_same_rows():
    data = _data()
    rows = np.random.default_rng(0).permutation(50)
    seen = []
    for picked, got in data.streamed_batches(rows, 16):
        want = data.batch(picked)
        for name in ("chosen", "rejected", "prompt_rows", "rater", "tie", "strength", "weight"):
            assert torch.equal(getattr(got, name), getattr(want, name)), name
        assert torch.equal(got.prompt, want.prompt)
        seen.append(picked)
    assert [len(p) for p in seen] == [16, 16, 16, 2]
    np.testing.assert_array_equal(np.concatenate(seen), rows)


def test_the_buffers_are_reused_from_batch_to_batch():
    data = _data()
    pointers = {got.chosen.data_ptr() for _, got in data.streamed_batches(np.arange(48), 16)}
    assert len(pointers) == 1


def test_no_rows_no_batches():
    assert list(_data().streamed_batches(np.zeros(0, dtype=np.int64), 16)) == []


def test_differences_equal_the_subtraction_exactly():
    """embedding_bag's 0 + c - r rounds once, as c - r does: equal in fp32, not just close."""
    rng = np.random.default_rng(7)
    for scale in (1.0, 1e-30, 1e30):
        data = PreferenceData.from_arrays(rng.normal(size=(300, 17)) * scale, rng.integers(0, 150, 2000),
                                          rng.integers(150, 300, 2000), rng.integers(0, 4, 2000))
        rows = torch.from_numpy(rng.integers(0, 2000, 5000))
        want = data.vectors[data.chosen[rows]] - data.vectors[data.rejected[rows]]
        assert torch.equal(data.differences(rows), want)
