"""An unknown rater (UNKNOWN_RATER, index -1) gets the population's reward, in every
registered family: computed here from the population's parameters directly, on a
model whose seen raters each have parameters of their own.

No training: parameters are scrambled at random, then the loop's hooks (prepare,
e_step, finalize) run once, so every data-dependent part is set (gpm's reference
response, variational's latents, the mixture's memberships) in well under a second.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pluralist.models import UNKNOWN_RATER, LinearRaterModel, PreferenceData, build_model, family_names

DIM, RATERS, ROWS = 24, 6, 120   # DIM above every default rank (decomposed needs it: test_small_dims)
# family options that change how the population is formed, tried besides the defaults
VARIANTS = [("lowrank", {"simplex": True}), ("mixture", {"router": True}),
            ("ideal_point", {"prompt_conditioned": True})]
CASES = [(name, {}) for name in family_names()] + VARIANTS


def _data() -> PreferenceData:
    rng = np.random.default_rng(0)
    return PreferenceData.from_arrays(
        rng.normal(size=(40, DIM)), rng.integers(0, 30, ROWS), rng.integers(0, 30, ROWS),
        np.arange(ROWS) % RATERS, n_raters=RATERS, prompt=rng.integers(30, 40, ROWS))


def _scrambled(name: str, options: dict, data: PreferenceData):
    torch.manual_seed(0)
    model = build_model(name, dim=DIM, raters=data.raters, seed=0, **options)
    rows = np.arange(len(data))
    model.prepare(data, rows)
    with torch.no_grad():
        for parameter in model.parameters():   # every rater table away from its start
            parameter.add_(0.5 * torch.randn_like(parameter))
    model.e_step(data, rows)
    model.finalize(data, rows)
    return model.eval()


def _population_reward(model, emb, prompt):
    """(B,) the population's reward, from the family's own definition of the population."""
    if isinstance(model, LinearRaterModel):
        offset, design = model.item_design(emb, prompt)
        return offset + design @ model.population_theta()
    assert model.family == "mixture", f"no population rule for {model.family!r} in this test"
    heads = model.heads(emb)                                          # (B, K)
    if model.config.router:   # an unknown rater has no bias on the router's logits
        return (F.softmax(model.router(prompt), -1) * heads).sum(-1)
    return heads @ model.prior                                       # the shares of the heads


def _case_id(case):
    name, options = case
    return name + "".join(f"-{k}" for k in options)


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module", params=CASES, ids=_case_id)
def model(request, data):
    return _scrambled(*request.param, data)


def test_unknown_rater_gets_the_populations_reward(model, data):
    batch = data.batch(np.arange(24))
    with torch.no_grad():
        unknown = model.reward(torch.full((24,), UNKNOWN_RATER), batch.chosen, batch.prompt)
        expected = _population_reward(model, batch.chosen, batch.prompt)
    assert UNKNOWN_RATER == -1
    assert expected.abs().max() > 1e-3, "a population reward of zero would prove nothing"
    torch.testing.assert_close(unknown, expected, rtol=1e-5, atol=1e-6)


def test_seen_raters_rewards_differ_from_the_populations(model, data):
    if not model.personalised:
        pytest.skip(f"{model.family} gives every rater the population's reward")
    batch = data.batch(np.arange(24))
    with torch.no_grad():
        population = _population_reward(model, batch.chosen, batch.prompt)
        gaps = [(model.reward(torch.full((24,), r), batch.chosen, batch.prompt) - population).abs().max()
                for r in range(RATERS)]
    assert min(gaps) > 1e-3, f"seen raters' largest gaps from the population: {gaps}"


def test_a_mixed_batch_scores_each_row_by_its_own_rater(model, data):
    """Unknown and seen raters in one batch: no row borrows another's parameters."""
    batch = data.batch(np.arange(24))
    raters = torch.tensor([UNKNOWN_RATER, 0, 3, UNKNOWN_RATER, 5, 1] * 4)
    with torch.no_grad():
        mixed = model.reward(raters, batch.chosen, batch.prompt)
        alone = torch.stack([model.reward(raters[i:i + 1], batch.chosen[i:i + 1], batch.prompt[i:i + 1])[0]
                             for i in range(24)])
    torch.testing.assert_close(mixed, alone, rtol=1e-5, atol=1e-6)


def test_a_refitted_population_is_what_unknown_raters_get(model, data):
    """After calibrate's refit on pooled comparisons, the refit replaces the family's default."""
    if not isinstance(model, LinearRaterModel) or model.fitted_population.numel() == 0:
        pytest.skip(f"{model.family} has no population parameters to refit")
    refit = torch.rand(model.fitted_population.shape)
    if model.param_space == "simplex":
        refit = refit / refit.sum()
    batch = data.batch(np.arange(24))
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            model.fitted_population.copy_(refit)
            model.population_is_fitted.fill_(True)
            unknown = model.reward(torch.full((24,), UNKNOWN_RATER), batch.chosen, batch.prompt)
            offset, design = model.item_design(batch.chosen, batch.prompt)
        torch.testing.assert_close(unknown, offset + design @ refit, rtol=1e-5, atol=1e-6)
    finally:
        model.load_state_dict(saved)   # the fixture is shared by the other tests
