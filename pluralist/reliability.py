"""Per-rater reliability: is a rater different, careless, or answering against the task?

Pluralism must keep a minority taste and down-weight noise. What separates
them is consensus: a minority differs from the population where the population
itself is unsure (controversial comparisons) but agrees where it is confident;
a flipped or adversarial rater disagrees exactly where the population is sure.

- Flip rate: on the rater's comparisons where the population reward is
  confident (predicted probability >= CONFIDENT), agreement a relates to the
  mean confidence q and the flip rate e by a = (1 - e) q + e (1 - q), so
  e = (q - a) / (2q - 1); the interval maps a's Wilson interval the same way.
- adversarial: the flip rate's 90% interval lies above one half.
- random: the rater's own fitted parameters (two-fold cross-fitting, shared
  parts frozen) predict their held-back half below CONSISTENT, and the flip
  rate's interval contains one half.

The flags are conservative: a rater needs enough confident comparisons for the
interval to clear one half (see the issue notes for measured recall).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import expit

from .adapt import adapted_margin
from .evaluate import correct

CONFIDENT = 0.75          # population probability that makes a comparison "consensus"
CONSISTENT = 0.6          # own-model accuracy below this: no better than a coin, near enough
MIN_CONFIDENT = 8         # consensus comparisons needed to say anything


def wilson_interval(successes: float, n: int, z: float = 1.645) -> tuple[float, float]:
    """90% (z = 1.645) Wilson score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cross_fitted_accuracy(model, rows, data, rng) -> float:
    """Two-fold: adapt on one half, score the other, and the reverse; mean accuracy."""
    order = rng.permutation(rows)
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    scores = []
    for fit_rows, test_rows in (halves, halves[::-1]):
        test_batch = data.batch(test_rows)
        margin = adapted_margin(model, model.adapt(data.batch(fit_rows)), test_batch).numpy()
        scores.append(correct(margin, test_batch.tie.numpy()))
    return float(np.concatenate(scores).mean())


def population_margins(model, data, rows) -> np.ndarray:
    batch = data.batch(rows)
    unknown = torch.full((len(rows),), -1)
    with torch.no_grad():
        return (model.reward(unknown, batch.chosen, batch.prompt)
                - model.reward(unknown, batch.rejected, batch.prompt)).numpy()


def flip_rate(margin: np.ndarray, tie: np.ndarray) -> dict | None:
    """Flip-rate estimate from agreement with the population on its confident comparisons."""
    p = expit(margin)
    confident = (np.maximum(p, 1 - p) >= CONFIDENT) & ~tie
    n = int(confident.sum())
    if n < MIN_CONFIDENT:
        return None
    agree = float((p[confident] > 0.5).mean())          # observed label = predicted side
    q = float(np.maximum(p, 1 - p)[confident].mean())
    to_rate = lambda a: float(np.clip((q - a) / (2 * q - 1), 0.0, 1.0))
    low, high = wilson_interval(agree * n, n)
    return {"consensus_comparisons": n, "agreement": agree, "flip_rate": to_rate(agree),
            "flip_rate_interval90": [to_rate(high), to_rate(low)]}


def rater_reliability(model, data, rows_by_rater: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    raters = {}
    for rater, rows in rows_by_rater.items():
        rate = flip_rate(population_margins(model, data, rows), data.tie[rows].numpy())
        if rate is None:
            continue
        own = cross_fitted_accuracy(model, rows, data, rng)
        raters[rater] = {"comparisons": int(len(rows)), **rate, "own_model_accuracy": own,
                         "flags": _flags(rate, own)}
    flagged = {flag: sorted(r for r, v in raters.items() if flag in v["flags"])
               for flag in ("adversarial", "random")}
    return {"raters": raters, "flagged": flagged,
            "rule": (f"flip rate from agreement with the population where it predicts >= {CONFIDENT}; "
                     "adversarial: 90% interval above 0.5; random: interval contains 0.5 and the "
                     f"rater's own cross-fitted model predicts below {CONSISTENT}"),
            "position_bias": "not assessed: the data do not record which response was shown first"}


def _flags(rate: dict, own_accuracy: float) -> list[str]:
    low, high = rate["flip_rate_interval90"]
    if low > 0.5:
        return ["adversarial"]
    if low <= 0.5 <= high and own_accuracy < CONSISTENT:
        return ["random"]
    return []
