"""Per-rater reliability: is a rater different, careless, or answering against the task?

Pluralism must keep a minority taste and down-weight noise (see reversal.py).

- Flip rate (self-inconsistency): two-fold cross-fitting adapts the rater's
  own parameters on one half of their comparisons (shared parts frozen) and
  scores the other half; the share of labels against that on the rater's
  anchors (RATER_ANCHOR_SHARE of their comparisons with the largest
  cross-fitted margins) is the flip rate, with a 90% Wilson interval.
- Reversal gain (reversal.reversal_gains): how much better the other seen
  raters that best match the rater's labels explain them reversed than as
  they are, in held-out log-likelihood per comparison, with its standard
  error and 90% interval. (Disagreement with the others' average misses
  adversarial raters: a reversed member of one group looks much like a member
  of the opposite group; only what all groups agree on tells them apart.)
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
  labels better, not surely: the tier trades precision for recall.
- position-biased: see position.py (when the data record which response was
  shown first).
Random and possibly adversarial need a model with per-rater preferences (see
`_flags`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from ..metrics import Z90, correct, wilson_interval
from ..training.anchors import anchor_flip_rate
from .position import position_bias
from .reversal import reversal_gains

CONSISTENT = 0.6          # own-model accuracy below this: no better than a coin, near enough
MIN_COMPARISONS = 16      # decided comparisons needed to say anything
RATER_ANCHOR_SHARE = 0.25  # one rater has few comparisons: a larger share makes the anchors
# Chosen with `python bench/flag_threshold.py` (draws 0-4): a lower threshold flags more
# ordinary raters under label noise, a higher one finds fewer adversarial raters.
POSSIBLE_SE = 0.5
# Chosen with `python bench/flag_threshold.py` and checked under heavy noise with
# `python bench/noise.py` (other draws): fewer spreads let chance flag ordinary raters
# where every gain is near zero, more miss adversarial raters when they are many.
OUTLIER_SPREADS = 2.0
SPREAD_PERCENTILE = 15.87  # the median less this percentile: one standard deviation of normal scores
FLAGS = ("adversarial", "possibly_adversarial", "random", "position_biased")


@dataclass(frozen=True)
class RaterReliability:
    """One assessed rater. Intervals are 90%; the chose-first fields are None where the
    data do not record which response was shown first."""

    comparisons: int                    # decided (not tied)
    flip_rate: float                    # labels against their own cross-fitted model, on the anchors
    flip_rate_interval90: tuple[float, float]
    anchor_comparisons: int
    own_model_accuracy: float           # cross-fitted, on every decided comparison
    own_model_accuracy_interval90: tuple[float, float]
    reversal_gain: float                # nats per comparison (reversal.reversal_gains)
    reversal_standard_error: float
    reversal_interval90: tuple[float, float]
    chose_first_share: float | None = None
    chose_first_interval90: tuple[float, float] | None = None
    flags: tuple[str, ...] = ()         # of FLAGS

    @property
    def reversal_z(self) -> float:
        """The reversal gain over its standard error (0 where that is 0: no spread)."""
        se = self.reversal_standard_error
        return self.reversal_gain / se if se > 0 else 0.0

    def to_dict(self) -> dict:
        """JSON-ready; the chose-first fields only where assessed."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {name: list(v) if isinstance(v, tuple) else v for name, v in out.items()}
        return {name: v for name, v in out.items() if v is not None}


@dataclass(frozen=True)
class Reliability:
    """Every assessed rater and what the flags are judged against. The medians and the
    z-score floor are None where no rater was assessed."""

    raters: dict[str, RaterReliability]
    flagged: dict[str, list[str]]         # each of FLAGS -> the raters with it, sorted
    median_reversal_gain: float | None
    median_own_model_accuracy: float | None
    reversal_z_floor: float | None        # outlier_floor
    per_rater_preferences: bool           # False: the others are the population alone
    position_bias: str                    # how position bias was assessed, with the data's figures

    def to_dict(self) -> dict:
        """JSON-ready, for metrics.json."""
        return {"raters": {rater: record.to_dict() for rater, record in self.raters.items()},
                "flagged": {flag: list(raters) for flag, raters in self.flagged.items()},
                "median_reversal_gain": self.median_reversal_gain,
                "median_own_model_accuracy": self.median_own_model_accuracy,
                "reversal_z_floor": self.reversal_z_floor,
                "per_rater_preferences": self.per_rater_preferences,
                "position_bias": self.position_bias}


def cross_fitted_margins(model, rows, data, rng) -> np.ndarray:
    """Margins of the rater's own recorded labels, each predicted by parameters adapted on
    the other half of their comparisons (shared parts frozen); aligned with `rows`."""
    order = rng.permutation(len(rows))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    out = np.zeros(len(rows))
    for fit, test in (halves, halves[::-1]):
        profile = model.fit_profile(data.batch(rows[fit]))
        out[test] = model.adapted_margin(profile, data.batch(rows[test])).numpy()
    return out


def rater_reliability(model, data, rows_by_rater: dict[str, np.ndarray], *, seed: int = 0,
                      chosen_first: np.ndarray | None = None) -> Reliability:
    """Every rater with at least MIN_COMPARISONS decided comparisons, measured and
    flagged. `chosen_first` (N,): ComparisonTable.chosen_first, for position bias."""
    rng = np.random.default_rng(seed)
    assessed = decided_rows(data, rows_by_rater)
    gains, per_rater = reversal_gains(model, data, assessed, seed=seed)
    positions, position_rule = position_bias(
        chosen_first if chosen_first is not None else np.full(len(data), -1), assessed, MIN_COMPARISONS)
    measured = {rater: _measure(model, data, rows, gains[rater], positions.get(rater), rng)
                for rater, rows in assessed.items()}
    return _judge(measured, positions, per_rater, position_rule)


def decided_rows(data, rows_by_rater: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each rater's comparisons without ties, for the raters with enough of them."""
    decided = {rater: rows[~data.tie[rows].numpy()] for rater, rows in rows_by_rater.items()}
    return {rater: rows for rater, rows in decided.items() if len(rows) >= MIN_COMPARISONS}


def _measure(model, data, rows, gain: np.ndarray, position: dict | None, rng) -> RaterReliability:
    """One rater's flip rate, own-model accuracy and reversal gain, not yet flagged;
    `position`: theirs from position.position_bias, if assessed."""
    own = cross_fitted_margins(model, rows, data, rng)
    rate, anchors = anchor_flip_rate(own, RATER_ANCHOR_SHARE)
    half = Z90 * gain.std(ddof=1) / math.sqrt(len(gain))
    accuracy = float(correct(own, np.zeros(len(own), bool)).mean())
    return RaterReliability(
        comparisons=int(len(rows)), flip_rate=rate, anchor_comparisons=anchors,
        flip_rate_interval90=wilson_interval(rate * anchors, anchors),
        own_model_accuracy=accuracy,
        own_model_accuracy_interval90=wilson_interval(accuracy * len(own), len(own)),
        reversal_gain=float(gain.mean()),
        reversal_standard_error=float(gain.std(ddof=1) / math.sqrt(len(gain))),
        reversal_interval90=(float(gain.mean() - half), float(gain.mean() + half)),
        chose_first_share=position["chose_first_share"] if position else None,
        chose_first_interval90=tuple(position["chose_first_interval90"]) if position else None)


def _judge(measured: dict[str, RaterReliability], positions: dict[str, dict],
           per_rater: bool, position_rule: str) -> Reliability:
    """The flags, each rater judged against the typical rater."""
    # "surely less consistent" is against the typical rater: under heavy label noise
    # every rater is near a coin to their own model
    typical_accuracy = _median([record.own_model_accuracy for record in measured.values()])
    z_floor = outlier_floor(np.array([record.reversal_z for record in measured.values()]))
    raters = {}
    for rater, record in measured.items():
        biased = ("position_biased",) if positions.get(rater, {}).get("position_biased") else ()
        flags = tuple(_flags(record, per_rater, typical_accuracy, z_floor)) + biased
        raters[rater] = replace(record, flags=flags)
    flagged = {flag: sorted(r for r, record in raters.items() if flag in record.flags) for flag in FLAGS}
    return Reliability(raters, flagged, _median([record.reversal_gain for record in measured.values()]),
                       typical_accuracy, z_floor, per_rater, position_rule)


def _median(values: list[float]) -> float | None:
    """None where no rater was assessed."""
    return float(np.median(values)) if values else None


def _flags(record: RaterReliability, per_rater: bool, typical_accuracy: float,
           z_floor: float) -> list[str]:
    """`per_rater`: the model has per-rater preferences. Without them a rater's
    "own" model is the population's, so a minority also looks inconsistent, and
    the one voter cannot tell a minority from a reversal: only the sure flag is
    given. `z_floor`: the reversal z-score above which a rater stands out
    (outlier_floor)."""
    low, high = record.reversal_interval90
    out = stands_out(record, z_floor)
    if low > 0 and out:
        return ["adversarial"]
    if not per_rater:
        return []
    surely_less_consistent = record.own_model_accuracy_interval90[1] < typical_accuracy
    if low <= 0 <= high and record.own_model_accuracy < CONSISTENT and surely_less_consistent:
        return ["random"]
    possible = out and record.reversal_gain > POSSIBLE_SE * record.reversal_standard_error
    return ["possibly_adversarial"] if possible else []


def outlier_floor(z: np.ndarray) -> float | None:
    """The reversal z-score a rater must exceed to stand out: the median rater's plus
    OUTLIER_SPREADS spreads, the spread being the median less the SPREAD_PERCENTILE-th
    percentile, measured below the median where adversarial raters are not. None where
    no rater was assessed."""
    if len(z) == 0:
        return None
    median = float(np.median(z))
    return median + OUTLIER_SPREADS * (median - float(np.percentile(z, SPREAD_PERCENTILE)))


def stands_out(record: RaterReliability, z_floor: float) -> bool:
    """Whether a rater's reversal z-score exceeds the floor (outlier_floor)."""
    return record.reversal_z > z_floor
