"""Per-rater reliability: is a rater different, careless, or answering against the task?

Pluralism must keep a minority taste and down-weight noise (see consensus.py).

- Flip rate (self-inconsistency): two-fold cross-fitting adapts the rater's
  own parameters on one half of their comparisons (shared parts frozen) and
  scores the other half; the share of labels against that on the rater's
  anchors (RATER_ANCHOR_SHARE of their comparisons with the largest
  cross-fitted margins) is the flip rate, with a 90% Wilson interval.
- Disagreement with the others: on the RATER_ANCHOR_SHARE of the rater's
  comparisons where the other seen raters' fitted preferences are surest,
  the share of labels they mostly reject, with a 90% interval. Counting every
  comparison instead flagged a third of one large group as adversarial
  (their taste differs from the average on many comparisons); a minority
  taste differs where taste decides, not where everyone is sure.
- adversarial: the disagreement interval lies above one half.
- random: the disagreement interval contains one half and the rater's
  cross-fitted accuracy is below CONSISTENT.
"""

from __future__ import annotations

import math

import numpy as np

from .adapt import adapted_margin
from .consensus import anchor_flip_rate, others_support
from .evaluate import correct

CONSISTENT = 0.6          # own-model accuracy below this: no better than a coin, near enough
MIN_COMPARISONS = 16      # decided comparisons needed to say anything
RATER_ANCHOR_SHARE = 0.25  # one rater has few comparisons: a larger share makes the anchors


def wilson_interval(successes: float, n: int, z: float = 1.645) -> tuple[float, float]:
    """90% (z = 1.645) Wilson score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cross_fitted_margins(model, rows, data, rng) -> np.ndarray:
    """Margins of the rater's own recorded labels, each predicted by parameters adapted on
    the other half of their comparisons (shared parts frozen); aligned with `rows`."""
    order = rng.permutation(len(rows))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    out = np.zeros(len(rows))
    for fit, test in (halves, halves[::-1]):
        profile = model.adapt(data.batch(rows[fit]))
        out[test] = adapted_margin(model, profile, data.batch(rows[test])).numpy()
    return out


def rater_reliability(model, data, rows_by_rater: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    every_row = np.concatenate(list(rows_by_rater.values())) if rows_by_rater else np.zeros(0, int)
    support = others_support(model, data, every_row, seed=seed)
    raters, start = {}, 0
    for rater, rows in rows_by_rater.items():
        rater_support = support[start:start + len(rows)]
        start += len(rows)
        decided = ~data.tie[rows].numpy()
        if decided.sum() < MIN_COMPARISONS:
            continue
        rows, rater_support = rows[decided], rater_support[decided]
        own = cross_fitted_margins(model, rows, data, rng)
        rate, anchors = anchor_flip_rate(own, RATER_ANCHOR_SHARE)
        # the same rule with the others' support as the margin: their certainty, not
        # the label, picks the comparisons
        disagreement, _ = anchor_flip_rate(rater_support - 0.5, RATER_ANCHOR_SHARE)
        entry = {"comparisons": int(len(rows)), "flip_rate": rate, "anchor_comparisons": anchors,
                 "flip_rate_interval90": list(wilson_interval(rate * anchors, anchors)),
                 "own_model_accuracy": float(correct(own, np.zeros(len(own), bool)).mean()),
                 "disagreement_with_others": disagreement,
                 "disagreement_interval90": list(wilson_interval(disagreement * anchors, anchors))}
        raters[rater] = {**entry, "flags": _flags(entry)}
    flagged = {flag: sorted(r for r, v in raters.items() if flag in v["flags"])
               for flag in ("adversarial", "random")}
    return {"raters": raters, "flagged": flagged,
            "rule": (f"flip rate: labels against the rater's own cross-fitted model on the "
                     f"{RATER_ANCHOR_SHARE:.0%} of their comparisons it is surest about; adversarial: "
                     "the 90% interval of disagreement with the other raters, where they are surest, lies above "
                     "0.5; random: "
                     f"it contains 0.5 and the rater's own cross-fitted accuracy is below {CONSISTENT}"),
            "position_bias": "not assessed: the data do not record which response was shown first"}


def _flags(entry: dict) -> list[str]:
    low, high = entry["disagreement_interval90"]
    if low > 0.5:
        return ["adversarial"]
    if low <= 0.5 <= high and entry["own_model_accuracy"] < CONSISTENT:
        return ["random"]
    return []
