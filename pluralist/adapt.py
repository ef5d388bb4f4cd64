"""New-rater adaptation: small convex problems solved directly.

Where a rater's parameters theta enter the margin linearly, d = offset + X theta,
fitting a new rater is logistic regression in K parameters with a Gaussian
prior centred on the population (Newton's method, a handful of K x K solves),
or the same on the probability simplex (LoRe, Bose et al., 2025; PAL,
Chen et al., 2024), solved by Gauss–Newton steps on softmax logits. Ties count as half a
win, half a loss.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, softmax

from .evaluate import correct

NEWTON_STEPS = 25


def solve_linear_rater(offset, design, tie, strength, prior_mean, precision: float,
                       space: str = "real") -> np.ndarray:
    """theta (K,) maximising the log-likelihood of the k comparisons plus the prior.

    offset (k,), design (k, K), tie (k,) bool, strength (k,), prior_mean (K,).
    """
    if design.shape[1] == 0:
        return np.zeros(0)
    target = np.where(tie, 0.5, 1.0)
    shifted = offset - np.where(tie, 0.0, strength)
    solver = _newton if space == "real" else _simplex
    return solver(shifted, design, target, prior_mean, precision)


def _newton(offset, design, target, prior_mean, precision) -> np.ndarray:
    theta = prior_mean.copy()
    eye = np.eye(len(theta))
    for _ in range(NEWTON_STEPS):
        p = expit(offset + design @ theta)
        grad = design.T @ (p - target) + precision * (theta - prior_mean)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + precision * eye
        step = np.linalg.solve(hess + 1e-9 * eye, grad)
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta


def _simplex(offset, design, target, prior_mean, precision) -> np.ndarray:
    """Damped Gauss–Newton on softmax logits with a backtracking line search."""
    def objective(theta):
        d = offset + design @ theta
        gap = theta - prior_mean
        return -(target * log_expit(d) + (1 - target) * log_expit(-d)).sum() + 0.5 * precision * gap @ gap

    logits = np.log(np.clip(prior_mean, 1e-6, None))
    theta = softmax(logits)
    value, eye = objective(theta), np.eye(len(theta))
    for _ in range(NEWTON_STEPS):
        p = expit(offset + design @ theta)
        grad_theta = design.T @ (p - target) + precision * (theta - prior_mean)
        hess_theta = design.T @ (design * (p * (1 - p))[:, None]) + precision * eye
        jac = np.diag(theta) - np.outer(theta, theta)           # d theta / d logits
        step = np.linalg.solve(jac @ hess_theta @ jac + 1e-6 * eye, jac @ grad_theta)
        for scale in (1.0, 0.5, 0.25, 0.125):
            candidate = softmax(logits - scale * step)
            new_value = objective(candidate)
            if new_value <= value:
                break
        if new_value > value or value - new_value < 1e-9:
            break
        logits, theta, value = logits - scale * step, candidate, new_value
    return theta


PRIOR_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
POPULATION_SAMPLE = 50_000


def fit_population(model, data, rows, *, seed: int = 0) -> dict:
    """Refit the population's rater parameters on comparisons pooled over raters, shared
    parts frozen: the best single rater the family can express. It replaces the family's
    default population only if it predicts held-back pooled comparisons better. A no-op
    for families whose raters do not enter linearly."""
    import torch

    from .models import LinearRaterModel

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


def adapted_margin(model, profile, batch):
    """(B,) margins of comparisons for a rater described by `profile`."""
    import torch

    with torch.no_grad():
        return (model.reward_adapted(profile, batch.chosen, batch.prompt)
                - model.reward_adapted(profile, batch.rejected, batch.prompt))


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
    return float(correct(adapted_margin(model, profile, test).numpy(), test.tie.numpy()).mean())
