"""Per-rater reliability: is a rater different, careless, or answering against the task?

Pluralism must keep a minority taste and down-weight noise (see consensus.py).

- Flip rate (self-inconsistency): two-fold cross-fitting adapts the rater's
  own parameters on one half of their comparisons (shared parts frozen) and
  scores the other half; the share of labels against that on the rater's
  anchors (RATER_ANCHOR_SHARE of their comparisons with the largest
  cross-fitted margins) is the flip rate, with a 90% Wilson interval.
- Reversal gain (consensus.reversal_gains): how much better the other seen
  raters that best match the rater's labels explain them reversed than as
  they are, in held-out log-likelihood per comparison, with a 90% interval.
  (Measuring disagreement with the others' average instead missed half the
  adversarial raters: a reversed member of one group looks much like a
  member of the opposite group; only what all groups agree on tells them
  apart.)
- Standing out: where the model can hardly tell its raters from their
  reversal (heavy label noise; a population with no shared taste) every
  rater's gain is near zero and chance alone puts some intervals above it,
  so a rater is flagged adversarial or possibly so only if their gain's
  z-score (gain over its standard error) also stands OUTLIER_SPREADS spreads
  above the median rater's: an empirical null (Efron, 2004, "Large-scale
  simultaneous hypothesis testing: the choice of a null hypothesis"), with
  the spread taken on the lower side, which adversarial raters do not widen.
- adversarial: the gain's 90% interval lies above zero, and it stands out.
- random: the interval contains zero and the rater's cross-fitted accuracy is
  below CONSISTENT and, beyond its 90% interval, below the median rater's:
  under heavy label noise every rater is near a coin, and the flag is for the
  raters who are surely worse than the rest.
- possibly adversarial: neither, but the gain is above POSSIBLE_SE of its
  standard errors and stands out: reversed explains the rater's held-out
  labels better, not surely (measured for bt: wrong more often than right,
  precision 0.43).
- position-biased: see position.py (when the data record which response was
  shown first).
Random and possibly adversarial need a model with per-rater preferences (see
`_flags`).
"""

from __future__ import annotations

import math

import numpy as np

from ..metrics import Z90, correct, wilson_interval
from ..training.anchors import anchor_flip_rate
from .position import position_bias
from .reversal import TOP_VOTERS, reversal_gains

CONSISTENT = 0.6          # own-model accuracy below this: no better than a coin, near enough
MIN_COMPARISONS = 16      # decided comparisons needed to say anything
RATER_ANCHOR_SHARE = 0.25  # one rater has few comparisons: a larger share makes the anchors
POSSIBLE_SE = 0.5          # `python bench/flag_threshold.py`, draws 0-4 of the built-in benchmark:
                           # precision and recall with 5% adversarial raters 0.978 / 0.915 (ideal_point),
                           # 0.956 / 0.951 (lowrank), with 20% 0.992 / 0.898 and 0.989 / 0.939; 0.75
                           # flags fewer ordinary raters under 20% noise (4.4 / 6.4 against 5.0 / 7.8
                           # a draw) but leaves less margin on recall, 0.25 less on lowrank's precision
OUTLIER_SPREADS = 2.0      # `python bench/flag_threshold.py`, draws 0-4, at POSSIBLE_SE: ordinary raters
                           # flagged at 20% noise 7.0 -> 5.0 a draw (ideal_point), 10.6 -> 7.8 (lowrank),
                           # the same precision and recall with 5% and 20% adversarial raters but
                           # lowrank's recall at 20% (0.949 -> 0.939); 2.5 halved the flags under noise
                           # again but cost a tenth of the recall at 20% (a script outside the repository).
                           # `python bench/noise.py`, draws 5-9, at 40% noise: possibly adversarial
                           # ordinary raters 23.8 -> 2.6 a draw (ideal_point), 24.8 -> 1.6 (lowrank)
FLAGS = ("adversarial", "possibly_adversarial", "random", "position_biased")
WITHOUT_PER_RATER = (". This model has no per-rater preferences: the others are the population "
                     "alone, against which a minority taste can look reversed (measured with bt on "
                     "the built-in benchmark with 5% adversarial raters: precision 0.54, "
                     "`python bench/noise.py`)")


def cross_fitted_margins(model, rows, data, rng) -> np.ndarray:
    """Margins of the rater's own recorded labels, each predicted by parameters adapted on
    the other half of their comparisons (shared parts frozen); aligned with `rows`."""
    order = rng.permutation(len(rows))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    out = np.zeros(len(rows))
    for fit, test in (halves, halves[::-1]):
        profile = model.adapt(data.batch(rows[fit]))
        out[test] = model.adapted_margin(profile, data.batch(rows[test])).numpy()
    return out


def rater_reliability(model, data, rows_by_rater: dict[str, np.ndarray], *, seed: int = 0,
                      chosen_first: np.ndarray | None = None) -> dict:
    """`chosen_first` (N,): ComparisonTable.chosen_first, for position bias."""
    rng = np.random.default_rng(seed)
    decided = {rater: rows[~data.tie[rows].numpy()] for rater, rows in rows_by_rater.items()}
    assessed = {rater: rows for rater, rows in decided.items() if len(rows) >= MIN_COMPARISONS}
    gains, per_rater = reversal_gains(model, data, assessed, seed=seed)
    positions, position_rule = position_bias(
        chosen_first if chosen_first is not None else np.full(len(data), -1), assessed, MIN_COMPARISONS)
    entries = {rater: _entry(model, data, rows, gains[rater], rng) for rater, rows in assessed.items()}
    # raters surely less consistent than the typical one: under heavy label noise every
    # rater is near a coin to their own model (`python bench/noise.py`, ideal_point at 40%
    # noise: 227 of 300 ordinary raters flagged random a draw without this, 16 with it)
    typical_accuracy = _median_of(entries, "own_model_accuracy")
    z_floor = outlier_floor(np.array([reversal_z(entry) for entry in entries.values()]))
    raters = {}
    for rater, entry in entries.items():
        position = positions.get(rater, {})
        flags = _flags(entry, per_rater, typical_accuracy, z_floor) + \
            (["position_biased"] if position.get("position_biased") else [])
        raters[rater] = {**entry, **{k: v for k, v in position.items() if k != "position_biased"},
                         "flags": flags}
    flagged = {flag: sorted(r for r, v in raters.items() if flag in v["flags"])
               for flag in FLAGS}
    return {"raters": raters, "flagged": flagged,
            "median_reversal_gain": _median_of(entries, "reversal_gain"),
            "median_own_model_accuracy": typical_accuracy, "reversal_z_floor": z_floor,
            "rule": (f"flip rate: labels against the rater's own cross-fitted model on the "
                     f"{RATER_ANCHOR_SHARE:.0%} of their comparisons it is surest about; reversal gain: "
                     f"how much better the {TOP_VOTERS:.0%} of other raters that best match the labels "
                     "explain them reversed than as they are (held-out log-likelihood per comparison, "
                     "their probabilities averaged); "
                     "adversarial: its 90% interval lies above 0 and its z-score (gain over standard "
                     f"error) stands {OUTLIER_SPREADS:g} spreads above the median rater's (the spread: "
                     "the median less the 15.87th percentile); for models with per-rater preferences "
                     f"also random: it contains 0 and the rater's own cross-fitted accuracy is below "
                     f"{CONSISTENT} and, beyond its 90% interval, below the median rater's, "
                     f"and possibly adversarial: otherwise a gain above {POSSIBLE_SE} standard "
                     "errors that stands out as well; on noisy labels that tier also takes ordinary "
                     "raters, a small group's first (measured with ideal_point on the built-in "
                     "benchmark at 20% symmetric noise: 3.8 of 300 raters, one in four from the "
                     "minority, and 2.6 at 40%, "
                     "`python bench/noise.py`). "
                     "The flags "
                     "mean little where the median rater's gain is near 0: the model then cannot tell "
                     "its raters from their reversal (measured on the built-in benchmark: median -0.06 "
                     "for decomposed, which flagged minority raters, -0.10 to -0.30 for the others)"
                     + ("" if per_rater else WITHOUT_PER_RATER)),
            "position_bias": position_rule}


def _median_of(entries: dict[str, dict], field: str) -> float | None:
    """The median rater's `field` (None where no rater was assessed)."""
    return float(np.median([entry[field] for entry in entries.values()])) if entries else None


def _entry(model, data, rows, gain: np.ndarray, rng) -> dict:
    """One rater's flip rate, own-model accuracy and reversal gain, with intervals."""
    own = cross_fitted_margins(model, rows, data, rng)
    rate, anchors = anchor_flip_rate(own, RATER_ANCHOR_SHARE)
    half = Z90 * gain.std(ddof=1) / math.sqrt(len(gain))
    accuracy = float(correct(own, np.zeros(len(own), bool)).mean())
    return {"comparisons": int(len(rows)), "flip_rate": rate, "anchor_comparisons": anchors,
            "flip_rate_interval90": list(wilson_interval(rate * anchors, anchors)),
            "own_model_accuracy": accuracy,
            "own_model_accuracy_interval90": list(wilson_interval(accuracy * len(own), len(own))),
            "reversal_gain": float(gain.mean()),
            "reversal_interval90": [float(gain.mean() - half), float(gain.mean() + half)]}


def _flags(entry: dict, per_rater: bool, typical_accuracy: float, z_floor: float) -> list[str]:
    """`per_rater`: the model has per-rater preferences. Without them a rater's
    "own" model is the population's, so a minority also looks inconsistent
    (measured: bt called 82 of 300 raters random) and the one voter cannot
    tell a minority from a reversal: only the sure flag is given. `z_floor`:
    the reversal z-score above which a rater stands out (outlier_floor)."""
    low, high = entry["reversal_interval90"]
    out = stands_out(entry, z_floor)
    if low > 0 and out:
        return ["adversarial"]
    if not per_rater:
        return []
    surely_less_consistent = entry["own_model_accuracy_interval90"][1] < typical_accuracy
    if low <= 0 <= high and entry["own_model_accuracy"] < CONSISTENT and surely_less_consistent:
        return ["random"]
    possible = out and entry["reversal_gain"] > POSSIBLE_SE * reversal_standard_error(entry)
    return ["possibly_adversarial"] if possible else []


def outlier_floor(z: np.ndarray) -> float | None:
    """The reversal z-score a rater must exceed to stand out: the median rater's plus
    OUTLIER_SPREADS spreads, the spread being the median less the 15.87th percentile
    (one standard deviation of normal scores), measured below the median where
    adversarial raters are not. None where no rater was assessed."""
    if len(z) == 0:
        return None
    median = float(np.median(z))
    return median + OUTLIER_SPREADS * (median - float(np.percentile(z, 15.87)))


def stands_out(entry: dict, z_floor: float) -> bool:
    """Whether a rater's reversal z-score exceeds the floor (outlier_floor)."""
    return reversal_z(entry) > z_floor


def reversal_z(entry: dict) -> float:
    """A rater's reversal gain over its standard error (0 where that is 0: no spread)."""
    se = reversal_standard_error(entry)
    return entry["reversal_gain"] / se if se > 0 else 0.0


def reversal_standard_error(entry: dict) -> float:
    """A rater's reversal gain's standard error, from its 90% interval."""
    low, high = entry["reversal_interval90"]
    return (high - low) / (2 * Z90)
