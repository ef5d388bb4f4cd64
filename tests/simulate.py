"""Ground-truth preference simulations on fixed vectors, for known-answer tests."""

from __future__ import annotations

import numpy as np

from pluralist.models import PreferenceData


class Simulation:
    """utilities (R, T): rater r's true utility of item t; labels drawn by Bradley–Terry."""

    def __init__(self, vectors, utilities, per_rater: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        n_raters, n_items = utilities.shape
        rater = np.repeat(np.arange(n_raters), per_rater)
        a = rng.integers(n_items, size=rater.size)
        b = (a + 1 + rng.integers(n_items - 1, size=rater.size)) % n_items
        p_a = 1 / (1 + np.exp(-(utilities[rater, a] - utilities[rater, b])))
        a_wins = rng.random(rater.size) < p_a
        self.chosen, self.rejected = np.where(a_wins, a, b), np.where(a_wins, b, a)
        self.rater, self.p_chosen = rater, np.where(a_wins, p_a, 1 - p_a)
        self.vectors, self.n_raters = vectors, n_raters

    def data(self, raters_known: int | None = None) -> PreferenceData:
        """Raters with index >= raters_known are unknown to the model (index -1)."""
        known = self.n_raters if raters_known is None else raters_known
        rater = np.where(self.rater < known, self.rater, -1)
        return PreferenceData.from_arrays(self.vectors, self.chosen, self.rejected, rater,
                                          n_raters=known)

    def rows(self, raters) -> np.ndarray:
        return np.flatnonzero(np.isin(self.rater, list(raters)))

    def bayes_accuracy(self, rows) -> float:
        p = self.p_chosen[rows]
        return float(np.maximum(p, 1 - p).mean())


def split_rows(rows: np.ndarray, fraction: float, seed: int = 0):
    shuffled = np.random.default_rng(seed).permutation(rows)
    cut = int(len(rows) * fraction)
    return np.sort(shuffled[:cut]), np.sort(shuffled[cut:])


def adapted_accuracy(model, data, sim: Simulation, raters, k: int, seed: int = 0) -> float:
    """Mean accuracy on each rater's other comparisons after adapting on k of them."""
    rng = np.random.default_rng(seed)
    accuracies = []
    for r in raters:
        rows = rng.permutation(sim.rows([r]))
        profile = model.adapt(data.batch(rows[:k]))
        margin = model.adapted_margin(profile, data.batch(rows[k:]))
        accuracies.append(float((margin > 0).float().mean()))
    return float(np.mean(accuracies))


def rank_k_world(seed=0, dim=24, rank=2, raters=160, items=300, per_rater=60, decisiveness=4.0):
    """Items whose variance lives in a rank-K subspace U, raters with weights in that span."""
    rng = np.random.default_rng(seed)
    span = np.linalg.qr(rng.standard_normal((dim, rank)))[0]              # (D, K)
    coords = rng.standard_normal((items, rank))
    vectors = coords @ span.T + 0.05 * rng.standard_normal((items, dim))
    weights = decisiveness * (rng.standard_normal((raters, rank)) + np.array([1.0] + [0] * (rank - 1)))
    return Simulation(vectors, weights @ coords.T, per_rater, seed), span
