"""Per-rater reliability: is a rater different, careless, or answering against the task?

Pluralism must keep a minority taste and down-weight noise (see consensus.py).

- Flip rate (self-inconsistency): two-fold cross-fitting adapts the rater's
  own parameters on one half of their comparisons (shared parts frozen) and
  scores the other half; the share of labels against that on the rater's
  anchors (RATER_ANCHOR_SHARE of their comparisons with the largest
  cross-fitted margins) is the flip rate, with a 90% Wilson interval.
- Reversal: the rater's labels are scored by the fitted preferences of the
  other seen raters (consensus.voter_margins), each taken as it is and
  reversed. On one half of the rater's comparisons the TOP_VOTERS share of
  voters that agree best with the labels is picked, as they are and
  reversed; on the other half (and vice versa) each comparison's gain is the
  reversed picks' mean probability of the recorded label minus the as-is
  picks'. A minority taste is explained best by its own group as it is; an
  adversarial rater by its own group reversed, and better, because reversed
  it also goes against the consensus attributes that all groups share.
  (Measuring disagreement with the others' average instead missed half the
  adversarial raters: a reversed member of one group looks much like a
  member of the opposite group.)
- adversarial: the 90% interval of the mean gain lies above zero.
- random: the interval contains zero and the rater's cross-fitted accuracy is
  below CONSISTENT.
- possibly adversarial: neither, but the mean gain is above zero (reversed
  explains the rater better, not surely). On the built-in benchmark with 5%
  adversarial raters (ideal_point) the sure flag found half of them with no
  false flag, sure and possible together about 85% with one or two false
  flags (bench/noise.py records both).
"""

from __future__ import annotations

import math

import numpy as np

from .adapt import adapted_margin
from .consensus import anchor_flip_rate, voter_margins
from .evaluate import correct

CONSISTENT = 0.6          # own-model accuracy below this: no better than a coin, near enough
MIN_COMPARISONS = 16      # decided comparisons needed to say anything
RATER_ANCHOR_SHARE = 0.25  # one rater has few comparisons: a larger share makes the anchors
TOP_VOTERS = 0.1          # the share of voters (at least 3) that explain a rater best
Z90 = 1.645
FLAGS = ("adversarial", "possibly_adversarial", "random")


def wilson_interval(successes: float, n: int, z: float = Z90) -> tuple[float, float]:
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


def reversal_gain(margins: np.ndarray, own: int, rng) -> tuple[float, tuple[float, float]]:
    """(mean gain, 90% interval) of explaining a rater's labels by the best-agreeing
    voters reversed rather than as they are; `margins` (n, V) are the recorded labels'
    margins under each voter, `own` the rater's own voter column or -1."""
    others = np.delete(margins, own, axis=1) if own >= 0 else margins
    if others.shape[1] == 0:   # a lone rater: nobody to compare with
        return 0.0, (-1.0, 1.0)
    as_is = 1.0 / (1.0 + np.exp(-others))
    reversed_ = 1.0 - as_is
    k = min(as_is.shape[1], max(3, int(round(TOP_VOTERS * as_is.shape[1]))))
    order = rng.permutation(len(as_is))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    gain = np.zeros(len(as_is))
    for fit, test in (halves, halves[::-1]):
        best = np.argsort(-as_is[fit].mean(0))[:k]
        best_reversed = np.argsort(-reversed_[fit].mean(0))[:k]
        gain[test] = reversed_[test][:, best_reversed].mean(1) - as_is[test][:, best].mean(1)
    half = Z90 * gain.std(ddof=1) / math.sqrt(len(gain))
    return float(gain.mean()), (float(gain.mean() - half), float(gain.mean() + half))


def rater_reliability(model, data, rows_by_rater: dict[str, np.ndarray], *, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    raters = {}
    for rater, rows in rows_by_rater.items():
        rows = rows[~data.tie[rows].numpy()]
        if len(rows) < MIN_COMPARISONS:
            continue
        own = cross_fitted_margins(model, rows, data, rng)
        rate, anchors = anchor_flip_rate(own, RATER_ANCHOR_SHARE)
        margins, voters = voter_margins(model, data, rows, seed=seed)
        own_column = np.flatnonzero(voters == int(data.rater[rows[0]]))
        gain, interval = reversal_gain(margins, int(own_column[0]) if len(own_column) else -1, rng)
        entry = {"comparisons": int(len(rows)), "flip_rate": rate, "anchor_comparisons": anchors,
                 "flip_rate_interval90": list(wilson_interval(rate * anchors, anchors)),
                 "own_model_accuracy": float(correct(own, np.zeros(len(own), bool)).mean()),
                 "reversal_gain": gain, "reversal_interval90": list(interval)}
        raters[rater] = {**entry, "flags": _flags(entry)}
    flagged = {flag: sorted(r for r, v in raters.items() if flag in v["flags"])
               for flag in FLAGS}
    return {"raters": raters, "flagged": flagged,
            "rule": (f"flip rate: labels against the rater's own cross-fitted model on the "
                     f"{RATER_ANCHOR_SHARE:.0%} of their comparisons it is surest about; reversal gain: "
                     f"how much better the {TOP_VOTERS:.0%} of other raters that best match the labels "
                     "explain them reversed than as they are (cross-fitted); adversarial: its 90% "
                     "interval lies above 0; random: it contains 0 and the rater's own cross-fitted "
                     f"accuracy is below {CONSISTENT}; possibly adversarial: otherwise, a gain above 0"),
            "position_bias": "not assessed: the data do not record which response was shown first"}


def _flags(entry: dict) -> list[str]:
    low, high = entry["reversal_interval90"]
    if low > 0:
        return ["adversarial"]
    if low <= 0 <= high and entry["own_model_accuracy"] < CONSISTENT:
        return ["random"]
    return ["possibly_adversarial"] if entry["reversal_gain"] > 0 else []
