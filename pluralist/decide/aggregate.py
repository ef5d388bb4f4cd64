"""Choosing one of N candidates for many raters at once, and what each choice costs whom.

Every rule scores each candidate from the raters' pairwise preferences P_r(i > j)
(utility.py) and picks the highest score:

- `mean`: the raters' mean utility, the utilitarian rule (Harsanyi, 1955, "Cardinal
  welfare, individualistic ethics, and interpersonal comparisons of utility").
- `maxmin`: the worst-off group's mean utility, the egalitarian rule over groups that
  MaxMin-RLHF optimises (Chakraborty et al., 2024, "MaxMin-RLHF: Alignment with
  Diverse Human Preferences"; after Rawls, 1971). Without groups each rater is one.
- `nash`: the sum of the raters' log utilities, the Nash product (Nash, 1950, "The
  Bargaining Problem"; as a social welfare function, Kaneko & Nakamura, 1979, "The
  Nash Social Welfare Function"). Utilities on both scales are at least 1/(2N) > 0.
- `quantile:q`: the utility of the q-th quantile rater (q = 0: the worst-off rater,
  0.5: the median), numpy's linear interpolation between raters.
- `copeland`: pairwise majorities; a candidate scores 1 for each other candidate a
  majority of raters prefers it to, 1/2 for each tie (Copeland, 1951). It always picks
  a Condorcet winner where there is one (Zwicker, "Introduction to the Theory of
  Voting", ch. 2 of Brandt et al. (eds.), Handbook of Computational Social Choice, 2016).
- `borda`: each rater's hard ranking, summed (Borda, 1781; same chapter); unlike
  Copeland it can miss a Condorcet winner.

The rank rules read only which of two candidates each rater prefers, so they are the
same on either utility scale. Ties between candidates go to the higher mean utility,
then to the candidate listed first.

For every candidate `welfare` reports mean utility, the worst group's utility, the
10th-percentile rater's utility and the Gini coefficient across raters, so that what
a rule trades for what is visible next to its choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .utility import group_utilities, hard, utilities

RULES = ("mean", "maxmin", "nash", "quantile:q", "copeland", "borda")
WELFARE_QUANTILE = 0.1   # the rater whose utility welfare() reports beside the mean
TIE_DECIMALS = 10        # scores that agree to this many decimals are tied


@dataclass(frozen=True)
class Rule:
    name: str                 # one of RULES without ':q'
    q: float | None = None    # quantile:q only

    def __str__(self) -> str:
        return f"quantile:{self.q:g}" if self.name == "quantile" else self.name


def parse_rule(text: str) -> Rule:
    """'mean', 'maxmin', 'nash', 'quantile:0.1', 'copeland' or 'borda' as a Rule."""
    name, sep, value = str(text).strip().partition(":")
    if name == "quantile":
        q = number_after(sep, value)
        if not 0.0 <= q <= 1.0:
            raise DataError(f"quantile needs q in [0, 1], as in quantile:0.1; got {text!r}", field="rule")
        return Rule("quantile", q)
    if sep or name not in RULES:
        raise DataError(f"unknown rule {text!r}; choose from {', '.join(RULES)}", field="rule")
    return Rule(name)


def number_after(sep: str, value: str) -> float:
    """The number after the ':' of an option like quantile:0.1; NaN (refused by every
    range check) where there is no ':' or no number after it."""
    try:
        return float(value) if sep else float("nan")
    except ValueError:
        return float("nan")


def rule_scores(rule: Rule, win: np.ndarray, groups, scale: str = "win") -> np.ndarray:
    """(N,) each candidate's score under `rule`, from (R, N, N) P_r(i > j)."""
    if rule.name in ("copeland", "borda"):
        return _rank_scores(rule.name, win)
    utility = utilities(win, scale)                                    # (R, N)
    if rule.name == "mean":
        return utility.mean(0)
    if rule.name == "maxmin":
        return group_utilities(utility, groups)[1].min(0)
    if rule.name == "nash":
        return np.log(utility).sum(0)
    return np.quantile(utility, rule.q, axis=0)


def _rank_scores(name: str, win: np.ndarray) -> np.ndarray:
    choices = hard(win)                                                # (R, N, N)
    if name == "borda":   # the candidates each rater ranks below i, ties half, summed
        return (choices.sum(-1) - 0.5).sum(0)
    majority = choices.mean(0)                                         # share preferring i to j
    wins = np.where(majority > 0.5, 1.0, np.where(majority < 0.5, 0.0, 0.5))
    np.fill_diagonal(wins, 0.0)
    return wins.sum(-1)


def ranking(scores: np.ndarray, mean_utility: np.ndarray) -> np.ndarray:
    """(N,) candidates best first: by score, then mean utility, then position. Scores
    equal but for rounding (sums taken in another order) count as tied."""
    rounded = lambda values: np.round(np.asarray(values, dtype=np.float64), TIE_DECIMALS)
    return np.lexsort((np.arange(len(scores)), -rounded(mean_utility), -rounded(scores)))


@dataclass(frozen=True)
class Decision:
    """One rule applied to one prompt's candidates."""

    rule: str
    scores: np.ndarray        # (N,) under the rule
    order: np.ndarray         # (N,) candidates best first
    welfare: dict             # per candidate, see welfare()

    @property
    def pick(self) -> int:
        return int(self.order[0])


def decide(rule: Rule, win: np.ndarray, groups, scale: str = "win") -> Decision:
    """Apply `rule` to (R, N, N) P_r(i > j) of raters in `groups` (R,)."""
    scores = rule_scores(rule, win, groups, scale)
    report = welfare(utilities(win, scale), groups)
    return Decision(str(rule), scores, ranking(scores, report["mean"]), report)


def welfare(utility: np.ndarray, groups) -> dict:
    """Per candidate, from (R, N) utilities of raters in `groups` (R,): `mean`,
    `worst_group` (the lowest group mean) and which group that is, `p10` (the
    10th-percentile rater's utility), `gini` across raters, and every group's mean."""
    names, by_group = group_utilities(utility, groups)
    return {"mean": utility.mean(0), "worst_group": by_group.min(0),
            "worst_group_name": [names[g] for g in by_group.argmin(0)],
            "p10": np.quantile(utility, WELFARE_QUANTILE, axis=0), "gini": gini(utility),
            "groups": dict(zip(names, by_group))}


def gini(values: np.ndarray) -> np.ndarray:
    """Gini coefficient along axis 0: the mean absolute difference between two raters
    (drawn with replacement) over twice the mean; 0 when all are equal (Gini, 1912).
    (R, ...) -> (...); zero utilities throughout count as equal."""
    values = np.sort(np.asarray(values, dtype=np.float64), axis=0)
    n = values.shape[0]
    rank = np.arange(1, n + 1).reshape((n,) + (1,) * (values.ndim - 1))
    total = values.sum(0)
    # sum_ij |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i) over sorted values
    spread = ((2 * rank - n - 1) * values).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, spread / (n * np.where(total > 0, total, 1.0)), 0.0)
