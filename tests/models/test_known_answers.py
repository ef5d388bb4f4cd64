"""Known-answer tests: each family recovers a ground truth built for it."""

import math

import numpy as np
import pytest
import torch

from pluralist.models.losses import bradley_terry, davidson, rao_kupper
from pluralist.models import PreferenceData, build_model
from pluralist.training.loop import TrainConfig, evaluate_rows, fit

from ..simulate import Simulation, adapted_accuracy, rank_k_world, split_rows

FAST = TrainConfig(epochs=60, batch_size=256, lr=0.05, patience=6, seed=0)
# For maximum-likelihood answers: no held-out rows, stop when the training loss plateaus.
TO_CONVERGENCE = TrainConfig(epochs=100, batch_size=500, lr=0.05, patience=8, val_fraction=0.0)


def trained(family, data, rows, config=FAST, **options):
    torch.manual_seed(0)
    model = build_model(family, dim=data.dim, raters=data.raters, **options)
    fit(model, data, rows, config)
    return model


# --- bt ---------------------------------------------------------------------------

def test_bt_recovers_item_strengths():
    strengths = np.array([-1.5, -0.5, 0.0, 0.7, 1.3])
    sim = Simulation(np.eye(5), strengths[None, :], per_rater=4000, seed=1)
    model = trained("bt", sim.data(), np.arange(4000), TO_CONVERGENCE, l2=0.0)
    learned = model.head.weight.detach().numpy()[0]
    assert np.allclose(learned - learned.mean(), strengths - strengths.mean(), atol=0.15)


def test_bt_three_cycle_gives_equal_strengths():
    chosen, rejected = [0, 1, 2] * 50, [1, 2, 0] * 50
    data = PreferenceData.from_arrays(np.eye(3), chosen, rejected, [0] * 150)
    model = trained("bt", data, np.arange(150), TO_CONVERGENCE, l2=0.0)
    learned = model.head.weight.detach().numpy()[0]
    assert np.ptp(learned) < 0.05


def test_margin_and_ties_match_hand_computed_likelihoods():
    sigmoid = lambda x: 1 / (1 + math.exp(-x))
    d, m, t = torch.tensor([0.3]), torch.tensor([0.5]), torch.tensor(0.7)
    assert bradley_terry(d, m).item() == pytest.approx(math.log(sigmoid(0.3 - 0.5)))
    tie, win = torch.tensor([True]), torch.tensor([False])
    assert rao_kupper(d, m * 0, tie, t).item() == \
        pytest.approx(math.log(sigmoid(0.3 + 0.7) - sigmoid(0.3 - 0.7)), rel=1e-5)
    assert rao_kupper(d, m * 0, win, t).item() == pytest.approx(math.log(sigmoid(0.3 - 0.7)), rel=1e-5)
    nu = math.exp(0.7)
    norm = 1 + nu * math.exp(-0.15) + math.exp(-0.3)
    assert davidson(d, m * 0, tie, t).item() == pytest.approx(math.log(nu * math.exp(-0.15) / norm), rel=1e-5)
    assert davidson(d, m * 0, win, t).item() == pytest.approx(math.log(1 / norm), rel=1e-5)
    # the three Davidson outcomes form a distribution
    total = sum(math.exp(davidson(s * d, m * 0, k, t).item())
                for s, k in ((1, win), (-1, win), (1, tie)))
    assert total == pytest.approx(1.0, rel=1e-5)


# --- mixture ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def opposed_groups():
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((200, 16))
    w = 3.0 * rng.standard_normal(16) / 4
    group = np.repeat([0, 1], 30)
    utilities = np.where(group[:, None] == 0, 1.0, -1.0) * (vectors @ w)[None, :]
    return Simulation(vectors, utilities, per_rater=60, seed=2), group


def test_bt_is_near_chance_on_opposed_groups(opposed_groups):
    sim, _ = opposed_groups
    train, test = split_rows(np.arange(len(sim.rater)), 0.8)
    model = trained("bt", sim.data(), train)
    assert abs(evaluate_rows(model, sim.data(), test)["accuracy"] - 0.5) < 0.06


@pytest.mark.parametrize("assignment", ["soft", "hard"])
def test_mixture_em_recovers_the_groups(opposed_groups, assignment):
    sim, group = opposed_groups
    data = sim.data()
    train, test = split_rows(np.arange(len(sim.rater)), 0.8)
    model = trained("mixture", data, train, components=2, assignment=assignment)
    assigned = model.membership.argmax(-1).numpy()
    purity = max(np.mean(assigned == group), np.mean(assigned != group))
    assert purity >= 0.95
    assert evaluate_rows(model, data, test)["accuracy"] >= 0.9 * sim.bayes_accuracy(test)


# --- lowrank and decomposed ----------------------------------------------------------

def principal_angles_deg(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1, 1)
    return np.degrees(np.arccos(cosines))


@pytest.fixture(scope="module")
def rank_two():
    return rank_k_world(seed=3)


@pytest.mark.parametrize("family, options", [
    ("lowrank", {"rank": 2, "l2": 1e-2}),
    ("decomposed", {"directions": 2}),
])
def test_rank_k_truth_is_recovered_for_unseen_raters(rank_two, family, options):
    sim, span = rank_two
    seen, unseen = range(120), range(120, 160)
    data = sim.data(raters_known=120)
    model = trained(family, data, sim.rows(seen), **options)
    from pluralist.training.calibrate import choose_adapt_prior, seen_as_new

    rows = sim.rows(seen)
    choose_adapt_prior(model, data, seen_as_new(data, rows, rows))
    accuracy = adapted_accuracy(model, data, sim, unseen, k=20)
    bayes = sim.bayes_accuracy(sim.rows(unseen))
    assert accuracy >= 0.95 * bayes, (accuracy, bayes)
    learned = (model.basis.weight.detach().numpy().T if family == "lowrank"
               else model.directions.numpy())
    assert principal_angles_deg(learned, span).max() < 15


def test_lowrank_simplex_variant_fits_rank_k_raters(rank_two):
    sim, _ = rank_two
    train, test = split_rows(sim.rows(range(120)), 0.8)
    model = trained("lowrank", sim.data(raters_known=120), train, rank=6, simplex=True)
    accuracy = evaluate_rows(model, sim.data(raters_known=120), test)["accuracy"]
    assert accuracy >= 0.9 * sim.bayes_accuracy(test)


# --- ideal point ------------------------------------------------------------------------

def test_ideal_point_recovers_convex_mixes_of_prototypes():
    rng = np.random.default_rng(4)
    items = rng.standard_normal((250, 4))
    prototypes = 2.0 * rng.standard_normal((3, 4))
    mixes = rng.dirichlet(np.ones(3) * 0.5, size=100)
    ideal = mixes @ prototypes                                              # (R, 4)
    utilities = -((items[None, :, :] - ideal[:, None, :]) ** 2).sum(-1)
    sim = Simulation(items, utilities, per_rater=80, seed=4)
    train, test = split_rows(np.arange(len(sim.rater)), 0.8)
    model = trained("ideal_point", sim.data(), train, prototypes=3, space_dim=4)
    assert evaluate_rows(model, sim.data(), test)["accuracy"] >= 0.9 * sim.bayes_accuracy(test)


# --- gpm ------------------------------------------------------------------------------

def test_gpm_fits_a_three_cycle_that_no_scalar_reward_can():
    chosen, rejected = [0, 1, 2] * 60, [1, 2, 0] * 60
    data = PreferenceData.from_arrays(np.eye(3), chosen, rejected, [0] * 180)
    rows = np.arange(180)
    gpm = trained("gpm", data, rows, blocks=1, per_rater=False)
    assert evaluate_rows(gpm, data, rows[:3])["accuracy"] == 1.0
    bt = trained("bt", data, rows)
    assert evaluate_rows(bt, data, rows[:3])["accuracy"] <= 2 / 3 + 1e-9


# --- variational ----------------------------------------------------------------------

def test_variational_swap_flips_the_mean_and_keeps_the_variance(rank_two):
    sim, _ = rank_two
    data = sim.data()
    model = trained("variational", data, sim.rows(range(40)), TrainConfig(epochs=3, seed=0))
    batch = data.batch(sim.rows([5])[:12])
    profile, flipped = model.adapt(batch), model.adapt(batch.swapped())
    assert np.allclose(flipped.values["theta"], -np.array(profile.values["theta"]), atol=1e-6)
    assert np.allclose(flipped.values["log_variance"], profile.values["log_variance"], atol=1e-6)
    assert np.abs(profile.values["theta"]).max() > 1e-3   # the mean is not trivially zero
    assert model.diagnostics()["active_latent_units"] >= 1
