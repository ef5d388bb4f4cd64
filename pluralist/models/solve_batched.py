"""Many new raters at once: the rater solver's Newton method for real theta, run on a
stack of T problems of k comparisons each with numpy's batched products and solves.

Each problem follows its own schedule exactly as `solve._newton` does (its own line
search, its own stop), so the answers agree with solving them one by one; only the
Python overhead of T separate solves is gone. The calibration after training
(training/calibrate.py) solves thousands of such problems.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from .solve import NEWTON_STEPS


def solve_linear_raters(offset, design, tie, strength, prior_mean, precision: float) -> np.ndarray:
    """theta (T, K): each problem's maximum of its log-likelihood plus the prior.

    offset (T, k), design (T, k, K), tie (T, k) bool, strength (T, k), prior_mean (K,).
    """
    target = np.where(tie, 0.5, 1.0)
    shifted = offset - np.where(tie, 0.0, strength)
    problem = (shifted, design, target, prior_mean, precision)
    theta = np.tile(prior_mean, (len(offset), 1))
    value, active = _values(problem, theta), np.ones(len(offset), dtype=bool)
    for _ in range(NEWTON_STEPS):
        direction, slope = _directions(problem, theta, active)
        moved, theta, value = _line_search(problem, theta, value, direction, slope, active)
        active &= moved & (np.abs(direction).max(axis=1) >= 1e-6)
        if not active.any():
            break
    return theta


def _values(problem, theta, rows=slice(None)):
    """(len(rows),) negative log-posterior of the problems `rows` at `theta` (theirs)."""
    offset, design, target, prior_mean, precision = problem
    offset, design, target = offset[rows], design[rows], target[rows]
    d = offset + np.matmul(design, theta[:, :, None])[:, :, 0]
    fit = -(target * log_expit(d) + (1 - target) * log_expit(-d)).sum(axis=1)
    return fit + 0.5 * precision * ((theta - prior_mean) ** 2).sum(axis=1)


def _directions(problem, theta, active):
    """Newton directions (T, K) and slopes (T,); zero for inactive or unsolvable ones."""
    offset, design, target, prior_mean, precision = problem
    p = expit(offset + np.matmul(design, theta[:, :, None])[:, :, 0])
    transposed = design.transpose(0, 2, 1)
    grad = np.matmul(transposed, (p - target)[:, :, None])[:, :, 0] + precision * (theta - prior_mean)
    eye = np.eye(theta.shape[1])
    hess = np.matmul(transposed, design * (p * (1 - p))[:, :, None]) + (precision + 1e-9) * eye
    direction = np.zeros_like(theta)
    ok = np.flatnonzero(active & np.isfinite(grad).all(axis=1) & np.isfinite(hess).all(axis=(1, 2)))
    try:
        direction[ok] = np.linalg.solve(hess[ok], -grad[ok][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:   # one singular system fails the whole stack: one by one
        for i in ok:
            try:
                direction[i] = np.linalg.solve(hess[i], -grad[i])
            except np.linalg.LinAlgError:
                pass   # no step: this problem stops where it is
    return direction, (grad * direction).sum(axis=1)


def _line_search(problem, theta, value, direction, slope, active):
    """Each active problem's largest step 2^-j (j < 40) with an Armijo decrease:
    (moved (T,), theta, value), unmoved problems left where they were."""
    moved, theta, value = np.zeros(len(theta), dtype=bool), theta.copy(), value.copy()
    pending, step = np.flatnonzero(active & (slope < 0)), 1.0
    for _ in range(40):
        if not len(pending):
            break
        candidate = theta[pending] + step * direction[pending]
        new = _values(problem, candidate, pending)
        accept = new <= value[pending] + 1e-4 * step * slope[pending]
        done = pending[accept]
        theta[done], value[done], moved[done] = candidate[accept], new[accept], True
        pending, step = pending[~accept], step * 0.5
    return moved, theta, value
