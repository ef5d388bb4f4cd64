import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pluralist.models import PreferenceData
from pluralist.noise import EMRates, FixedRate, with_label_weights



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
    with pytest.raises(ValueError):
        FixedRate("unbiased", 0.5)


def test_em_converges_to_the_true_flip_rate_with_a_calibrated_model():
    rng = np.random.default_rng(0)
    n, raters, true_rate = 20000, 50, 0.2
    p_clean = 1 / (1 + np.exp(-rng.normal(0, 3, n)))             # P(first item preferred)
    first_wins = rng.random(n) < p_clean
    flipped = rng.random(n) < true_rate
    observed_first = first_wins ^ flipped
    p_observed_clean = np.where(observed_first, p_clean, 1 - p_clean)
    # item i's one-dimensional "embedding" is its own row number, so the oracle can look it up
    vectors = np.arange(2 * n, dtype=np.float32)[:, None]
    data = PreferenceData.from_arrays(vectors, np.arange(n), n + np.arange(n),
                                      rng.integers(raters, size=n), n_raters=raters)
    em = EMRates(n, raters, warmup_epochs=0)
    model = _oracle(p_observed_clean)
    for _ in range(30):
        em.e_step(model, data, np.arange(n))
    assert abs(em.global_rate - true_rate) < 0.02
    assert np.abs(em.rater_rates - true_rate).max() < 0.1
    # comparisons that really were flipped get a lower posterior of being correct
    assert em.correct[flipped].mean() < em.correct[~flipped].mean() - 0.2


def _oracle(p_observed):
    """A perfectly calibrated model: it knows the clean probability of each observed label."""
    import types

    p = torch.as_tensor(p_observed)
    model = types.SimpleNamespace(eval=lambda: None, train=lambda: None)
    model.log_prob = lambda batch: torch.log(p[batch.chosen[:, 0].long()])
    return model
