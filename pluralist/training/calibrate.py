"""Calibration after training: the population refit and the new-rater prior.

Both are chosen on held-back comparisons of the seen raters, with every shared
part of the model frozen (the convex rater solver of models/solve.py does the work).
"""

from __future__ import annotations

import numpy as np
import torch

from ..metrics import correct
from ..models import LinearRaterModel

PRIOR_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
POPULATION_SAMPLE = 50_000


def fit_population(model, data, rows, *, seed: int = 0) -> dict:
    """Refit the population's rater parameters on comparisons pooled over raters, shared
    parts frozen: the best single rater the family can express. It replaces the family's
    default population only if it predicts held-back pooled comparisons better. A no-op
    for families whose raters do not enter linearly."""
    if not isinstance(model, LinearRaterModel) or model.fitted_population.numel() == 0:
        return {}
    rng = np.random.default_rng(seed)
    rows = rng.permutation(np.asarray(rows))[:POPULATION_SAMPLE]
    fit_rows, check_rows = rows[len(rows) // 5:], rows[: len(rows) // 5]
    default = model.default_population_theta().detach()
    refit = model.fit_theta(data.batch(fit_rows), default, 1e-3)
    with torch.no_grad():
        check = data.batch(check_rows)
        offset, design = (t.double().numpy() for t in model.pair_design(check))
    score = lambda theta: float(correct(offset + design @ theta, check.tie.numpy()).mean())
    scores = {"default": score(default.double().numpy()), "refit": score(refit)}
    if scores["refit"] > scores["default"]:
        model.fitted_population.copy_(torch.from_numpy(refit).float())
        model.population_is_fitted.fill_(True)
    return scores


def choose_adapt_prior(model, data, rows, *, shots=(5, 20), max_raters: int = 100,
                       grid=PRIOR_GRID, seed: int = 0) -> dict:
    """Pick the new-rater prior precision that predicts held-back comparisons best.

    Seen raters play new raters: adapt on `shots` of their comparisons, score the
    accuracy on the rest (log-likelihood is dominated by a few overconfident
    misses when a handful of comparisons is separable). A large precision means
    'stay with the population', so personalisation is only trusted as far as the
    data support it; ties go to the larger precision.
    """
    rng = np.random.default_rng(seed)
    by_rater = [r for key, r in data.rows_by_rater(rows).items() if key >= 0 and len(r) > max(shots)]
    picked = [by_rater[i] for i in rng.permutation(len(by_rater))[:max_raters]]
    trials = [(rng.permutation(r), k) for r in picked for k in shots]
    scores = {}
    for precision in grid:
        model.adapt_prior.fill_(precision)
        scores[precision] = float(np.mean([_held_out_accuracy(model, data, order, k)
                                           for order, k in trials])) if trials else 0.0
    best = max(scores, key=lambda p: (scores[p], p))   # ties: the more cautious prior
    model.adapt_prior.fill_(best)
    return {"chosen": best, "accuracy_by_precision": scores}


def _held_out_accuracy(model, data, order, k) -> float:
    profile = model.adapt(data.batch(order[:k]))
    test = data.batch(order[k:])
    return float(correct(model.adapted_margin(profile, test).numpy(), test.tie.numpy()).mean())
