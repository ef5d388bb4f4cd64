"""The rater solver: a new rater's parameters from a few comparisons, by small convex solves.

Where a rater's parameters theta enter the margin linearly, d = offset + X theta,
fitting a new rater is logistic regression in K parameters with a Gaussian
prior centred on the population (Newton's method, a handful of K x K solves),
or the same on the probability simplex (LoRe, Bose et al., 2025; PAL,
Chen et al., 2024), solved by proximal Newton steps on the simplex itself. Ties count as half a
win, half a loss.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

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


def _objective(offset, design, target, prior_mean, precision):
    """The negative log-posterior of theta, as a function (convex in theta)."""
    def value(theta):
        d = offset + design @ theta
        gap = theta - prior_mean
        return -(target * log_expit(d) + (1 - target) * log_expit(-d)).sum() + 0.5 * precision * gap @ gap
    return value


def _gradient_and_hessian(offset, design, target, prior_mean, precision, theta):
    p = expit(offset + design @ theta)
    grad = design.T @ (p - target) + precision * (theta - prior_mean)
    hess = design.T @ (design * (p * (1 - p))[:, None]) + precision * np.eye(len(theta))
    return grad, hess


def _line_search(value, theta, direction, slope, current):
    """The largest step 2^-j (j < 40) along `direction` with an Armijo decrease, or None."""
    step = 1.0
    for _ in range(40):
        candidate = theta + step * direction
        new = value(candidate)
        if new <= current + 1e-4 * step * slope:
            return candidate, new
        step *= 0.5
    return None


def _solve(matrix, rhs) -> np.ndarray | None:
    """matrix^-1 rhs, or None where the system is singular or not finite (a model whose
    weights overflowed, e.g. trained with an absurd learning rate): the solver then stops."""
    if not (np.isfinite(matrix).all() and np.isfinite(rhs).all()):
        return None
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return None


def _newton(offset, design, target, prior_mean, precision) -> np.ndarray:
    """Newton's method with a backtracking line search: a full step alone can diverge
    on a tie far from an even margin under a weak prior."""
    value = _objective(offset, design, target, prior_mean, precision)
    theta, current = prior_mean.copy(), value(prior_mean)
    for _ in range(NEWTON_STEPS):
        grad, hess = _gradient_and_hessian(offset, design, target, prior_mean, precision, theta)
        direction = _solve(hess + 1e-9 * np.eye(len(theta)), -grad)
        if direction is None:
            break
        found = _line_search(value, theta, direction, grad @ direction, current)
        if found is None:
            break
        theta, current = found
        if np.abs(direction).max() < 1e-6:
            break
    return theta


def _simplex(offset, design, target, prior_mean, precision) -> np.ndarray:
    """Proximal Newton on the simplex: each step minimises the objective's quadratic
    model over the simplex exactly (an active set), then searches the segment toward
    that point, which stays on the simplex. Working in theta itself reaches optima on
    an edge or at a vertex, where softmax logits would have to run to infinity."""
    value = _objective(offset, design, target, prior_mean, precision)
    theta = np.clip(prior_mean, 0.0, None) / np.clip(prior_mean, 0.0, None).sum()
    current = value(theta)
    for _ in range(NEWTON_STEPS):
        grad, hess = _gradient_and_hessian(offset, design, target, prior_mean, precision, theta)
        if not (np.isfinite(grad).all() and np.isfinite(hess).all()):
            break   # an overflowing model (see _solve): stay where we are
        direction = _quadratic_on_simplex(hess, grad - hess @ theta, theta) - theta
        slope = grad @ direction
        if slope > -1e-12:
            break
        found = _line_search(value, theta, direction, slope, current)
        if found is None:
            break
        theta, current = found
    return theta


def _quadratic_on_simplex(hess, linear, start) -> np.ndarray:
    """argmin of x' hess x / 2 + linear' x over the simplex (hess positive definite), by a
    primal active-set method from the feasible `start` (Nocedal & Wright, 2006, 16.5)."""
    x, at_zero = start.copy(), start <= 0
    for _ in range(4 * len(x) + 8):
        free = ~at_zero
        step, multiplier = _face_step(hess, hess @ x + linear, free)
        if np.abs(step).max() < 1e-14:
            bound = (hess @ x + linear + multiplier)[at_zero]   # multipliers of x_i >= 0
            if not len(bound) or bound.min() >= -1e-12:
                return x
            at_zero[np.flatnonzero(at_zero)[np.argmin(bound)]] = False
            continue
        shrinking = free & (step < 0)
        ratios = np.where(shrinking, -x / np.where(shrinking, step, -1.0), np.inf)
        alpha = min(1.0, ratios.min())
        x = np.clip(x + alpha * step, 0.0, None)
        if alpha < 1.0:
            at_zero[np.argmin(ratios)] = True
    return x


def _face_step(hess, grad, free) -> tuple[np.ndarray, float]:
    """The step on the face of the free coordinates (sum of the step 0) to that face's
    minimum, and the constraint's multiplier."""
    index = np.flatnonzero(free)
    n = len(index)
    kkt = np.zeros((n + 1, n + 1))
    kkt[:n, :n], kkt[:n, n], kkt[n, :n] = hess[np.ix_(index, index)], 1.0, 1.0
    solution = _solve(kkt, np.concatenate([-grad[index], [0.0]]))
    step = np.zeros(len(grad))
    if solution is None:    # an overflowing model: no step, the solver stops where it is
        return step, 0.0
    step[index] = solution[:n]
    return step, float(solution[n])
