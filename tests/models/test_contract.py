"""Every registered family passes the same contract; a new family is tested by registering it."""

import dataclasses

import numpy as np
import pytest
import torch

from pluralist.data import generate, SynthConfig
from pluralist.encode import EmbeddingCache, embed_table, get_encoder
from pluralist.errors import ModelError
from pluralist.models import PreferenceData, build_model, family_names, load_model, save_model
from pluralist.training.loop import TrainConfig, evaluate_rows, fit

SMALL = SynthConfig(raters=40, comparisons_per_rater=40, responses_per_prompt=20, prompts=6)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    bench = generate(SMALL)
    cache = EmbeddingCache(get_encoder("hashing:64"), tmp_path_factory.mktemp("cache"))
    return PreferenceData.from_table(bench.table, embed_table(bench.table, cache))


@pytest.fixture(scope="module", params=family_names())
def trained(request, bench_data):
    torch.manual_seed(0)
    model = build_model(request.param, dim=bench_data.dim, raters=bench_data.raters)
    rows = np.arange(len(bench_data))
    before = float(model.loss(bench_data.batch(rows)).detach()) if request.param != "variational" else None
    fit(model, bench_data, rows, TrainConfig(epochs=6, seed=0))
    return model, before


def test_registry_has_the_seven_families():
    assert set(family_names()) >= {"bt", "lowrank", "mixture", "ideal_point", "variational",
                                   "gpm", "decomposed"}


def test_training_lowers_the_loss_and_beats_chance(trained, bench_data):
    model, before = trained
    rows = np.arange(len(bench_data))
    model.e_step(bench_data, rows)  # EM and latent families evaluate with fresh assignments
    if before is not None:
        assert float(model.loss(bench_data.batch(rows)).detach()) < before
    assert evaluate_rows(model, bench_data, rows)["accuracy"] > 0.6


def test_outputs_are_finite_and_shaped(trained, bench_data):
    model, _ = trained
    batch = bench_data.batch(np.arange(32))
    with torch.no_grad():
        margin, log_prob = model.margin(batch), model.log_prob(batch)
        reward = model.reward(batch.rater, batch.chosen, batch.prompt)
    for out in (margin, log_prob, reward):
        assert out.shape == (32,) and torch.isfinite(out).all()
    assert (log_prob <= 0).all()


def test_unknown_rater_gets_the_population_reward(trained, bench_data):
    model, _ = trained
    batch = bench_data.batch(np.arange(16))
    unknown = torch.full((16,), -1)
    with torch.no_grad():
        population = model.reward(unknown, batch.chosen, batch.prompt)
        # an empty profile-free request for another unknown id gives the same answer
        again = model.reward(torch.full((16,), -7), batch.chosen, batch.prompt)
    assert torch.isfinite(population).all() and torch.allclose(population, again)


def _margins_voter_by_voter(model, batch, voters):
    return torch.stack([model.margin(dataclasses.replace(batch, rater=torch.full_like(batch.rater, v)))
                        for v in voters.tolist()], 1)


def test_voter_margins_are_each_voters_own_margins(trained, bench_data):
    """A family's one-pass voter scoring (the reliability report's) agrees with its margin."""
    model, _ = trained
    batch, voters = bench_data.batch(np.arange(24)), torch.tensor([0, 3, 7, -1])
    with torch.no_grad():
        assert torch.allclose(model.voter_margins(batch, voters),
                              _margins_voter_by_voter(model, batch, voters), atol=1e-5)


def test_a_routed_mixtures_voter_margins_are_its_margins(bench_data):
    torch.manual_seed(0)
    model = build_model("mixture", dim=bench_data.dim, raters=bench_data.raters, router=True)
    with torch.no_grad():
        model.rater_bias.normal_()
    batch, voters = bench_data.batch(np.arange(24)), torch.tensor([1, 5, -1])
    with torch.no_grad():
        assert torch.allclose(model.voter_margins(batch, voters),
                              _margins_voter_by_voter(model, batch, voters), atol=1e-5)


def test_adapt_gives_a_usable_profile(trained, bench_data):
    model, _ = trained
    batch = bench_data.batch(np.arange(20))
    profile = model.adapt(batch)
    assert profile.family == model.family and profile.comparisons == 20
    with torch.no_grad():
        reward = model.reward_adapted(profile, batch.chosen, batch.prompt)
    assert reward.shape == (20,) and torch.isfinite(reward).all()


def test_save_load_round_trip_gives_identical_rewards(trained, bench_data, tmp_path):
    model, _ = trained
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m", encoder_id=model.encoder_id)
    batch = bench_data.batch(np.arange(64))
    with torch.no_grad():
        for raters in (batch.rater, torch.full((64,), -1)):
            assert torch.equal(model.reward(raters, batch.chosen, batch.prompt),
                               loaded.reward(raters, batch.chosen, batch.prompt))
    assert loaded.raters == model.raters and float(loaded.adapt_prior) == float(model.adapt_prior)
    with pytest.raises(ModelError, match="trained on embeddings from"):
        load_model(tmp_path / "m", encoder_id="another-encoder")
    assert not list(tmp_path.glob(".m.*"))  # no staging directory left behind


def test_shared_options_a_family_ignores_are_refused_unless_left_at_their_default():
    from pluralist.models import get_family

    for family in family_names():
        cls = get_family(family)
        for name in cls.unused_options:
            build_model(family, dim=4, raters=("a",), **{name: getattr(cls.Config(), name)})
            with pytest.raises(ModelError, match=f"does not use option '{name}'"):
                build_model(family, dim=4, raters=("a",), **{name: 0.5})
    assert "rater_l2" not in get_family("lowrank").unused_options
    build_model("lowrank", dim=4, raters=("a",), rater_l2=0.5)
