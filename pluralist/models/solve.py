"""The rater solver: a new rater's parameters from a few comparisons, by small convex solves.

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


