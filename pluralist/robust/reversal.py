"""Flip rates that a shrinking model cannot hide, and what the other raters think.

A personalised model trained on noisy labels absorbs the noise as taste: it
shrinks its margins until the noisy labels look plausible, so a flip rate
inferred from its own probabilities comes out far below the true one. Two
scale-free measurements avoid that:

- Anchor points (Scott, Blanchard & Handy, 2013, "Classification with
  Asymmetric Label Noise: Consistency and Maximal Denoising"; Liu & Tao, 2016,
  "Classification with Noisy Labels by Importance Reweighting"): among
  comparisons the model has not trained on, those with the largest margins
  are ones whose clean label is all but certain, so the share of labels
  against the model there estimates the flip rate, whatever the scale of the
  margins. Only the ranking of margins matters. Where the anchors are not
  quite certain the estimate is biased upward by the disagreement left there.
- Ask the others. A rater's own fitted preferences happily learn a reversed
  taste, so reversal shows only against other people: `voter_margins` scores
  each comparison by the fitted preferences of up to MAX_VOTERS seen raters.
  `reversal_gains` asks whether a rater is better explained by some of them
  as they are (a minority taste is: by its own group) or by some of them
  reversed (an adversarial rater is: by its own group, reversed, and better
  so, because reversed it also goes against what every group agrees on).
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.base import evaluating
from ..models.data import UNKNOWN_RATER, PreferenceData

MAX_VOTERS = 200   # a few dozen leave a small minority with too few voters like them,
                   # and then it looks reversed
TOP_VOTERS = 0.1           # the share of voters (at least 3) that explain a rater best
MAX_ROUNDS = 8             # each leaves out the voters the one before found reversed, until
                           # that set stops changing: a bound, rarely reached
RATERS_PER_CALL = 64
CACHE_BYTES = 256 * 2 ** 20   # voter margins kept between rounds up to this size


def voter_margins(model, data: PreferenceData, rows, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """((n, V) margin of each recorded label under each voter's fitted preferences,
    (V,) the voters' rater indices): up to MAX_VOTERS seen raters, or the population."""
    rows = np.asarray(rows)
    voters = _voters(model.n_raters, MAX_VOTERS, seed)
    with evaluating(model):
        margins = [model.voter_margins(batch, voters) for batch in data.batches(rows)]
    margins = torch.cat(margins).double().numpy() if margins else np.zeros((0, len(voters)))
    return margins, voters.numpy()


def reversal_gains(model, data: PreferenceData, rows_by_rater: dict[str, np.ndarray], *,
                   seed: int = 0) -> tuple[dict[str, np.ndarray], bool]:
    """({rater: (n,) gain per comparison}, whether the voters differ at all: a model
    without per-rater preferences gives them all the population's): how much better, in held-out
    log-likelihood (nats), the TOP_VOTERS share of voters that best match the
    rater's labels explain them reversed than as they are.

    The voters are picked on one half of the rater's comparisons and scored on
    the other (and vice versa), so a rater cannot look reversed by chance fit.
    Reversed raters vouch for each other, so each further round leaves out the
    voters whose own mean gain was positive in the round before, until that set
    stops changing: mixed in probability (mixed_log_prob), one reversed voter left
    among a rater's best matches explains them as they are, so a fixed small number
    of rounds misses reversed raters when they are many (`python bench/flag_threshold.py`
    scores the flags with 20% adversarial raters)."""
    raters = list(rows_by_rater)
    index = {rater: int(data.rater[rows_by_rater[rater][0]]) for rater in raters}
    chunks = _VoterChunks(model, data, rows_by_rater, seed)
    suspects: list[int] = []
    for _ in range(MAX_ROUNDS):
        gains = _gains_leaving_out(chunks, rows_by_rater, index, suspects, seed)
        found = sorted(index[rater] for rater, gain in gains.items() if gain.mean() > 0)
        if found == suspects:
            break
        suspects = found
    return gains, chunks.differ


class _VoterChunks:
    """The voters' margins on the raters' rows, RATERS_PER_CALL raters at a time: one
    call per rater was most of the reliability section's time, all raters at once would
    hold (rows x voters). Kept for the next round while they fit in CACHE_BYTES (the
    margins do not depend on who is left out), else computed again."""

    def __init__(self, model, data, rows_by_rater, seed):
        self.model, self.data, self.rows_by_rater, self.seed = model, data, rows_by_rater, seed
        raters = list(rows_by_rater)
        self.chunks = [raters[i:i + RATERS_PER_CALL] for i in range(0, len(raters), RATERS_PER_CALL)]
        rows = sum(len(r) for r in rows_by_rater.values())
        self.keep = rows * min(model.n_raters or 1, MAX_VOTERS) * 8 <= CACHE_BYTES
        self.cached: list | None = None
        self.differ = False   # whether any two voters gave a comparison different margins

    def __iter__(self):
        """(raters, (n, V) margins of their rows in order, (V,) voters) per chunk."""
        if self.cached is not None:
            yield from self.cached
            return
        computed = []
        for chunk in self.chunks:
            rows = np.concatenate([self.rows_by_rater[r] for r in chunk])
            margins, voters = voter_margins(self.model, self.data, rows, seed=self.seed)
            self.differ = self.differ or bool(np.any(np.ptp(margins, axis=1) > 1e-6))
            if self.keep:
                computed.append((chunk, margins, voters))
            yield chunk, margins, voters
        if self.keep:
            self.cached = computed


def _gains_leaving_out(chunks, rows_by_rater, index, suspects, seed) -> dict:
    """One round of reversal_gains, the `suspects` (rater indices) not voting."""
    gains, number = {}, 0
    for chunk, margins, voters in chunks:
        ends = np.cumsum([len(rows_by_rater[r]) for r in chunk])
        for rater, rater_margins in zip(chunk, np.split(margins, ends[:-1])):
            keep = (voters != index[rater]) & ~np.isin(voters, suspects)
            gains[rater] = _reversal_gain(rater_margins[:, keep], np.random.default_rng([seed, number]))
            number += 1
    return gains


def _reversal_gain(margins: np.ndarray, rng) -> np.ndarray:
    if margins.shape[1] == 0:   # a lone rater: nobody to compare with
        return np.zeros(len(margins))
    as_is, reversed_ = -np.logaddexp(0.0, -margins), -np.logaddexp(0.0, margins)  # log-sigmoid
    k = min(margins.shape[1], max(3, int(round(TOP_VOTERS * margins.shape[1]))))
    order = rng.permutation(len(margins))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    gain = np.zeros(len(margins))
    for fit, test in (halves, halves[::-1]):
        best = np.argsort(-as_is[fit].mean(0))[:k]
        best_reversed = np.argsort(-reversed_[fit].mean(0))[:k]
        gain[test] = mixed_log_prob(reversed_[test][:, best_reversed]) - mixed_log_prob(as_is[test][:, best])
    return gain


def mixed_log_prob(log_probs: np.ndarray) -> np.ndarray:
    """(n,) log of the voters' mean probability of each label, from (n, k) log-probabilities:
    the rater is taken to be like one of the k voters, not like all of them at once.

    (The mean log-probability would charge a rater for every voter that misjudged a
    comparison, and the voters closest to a small group disagree most: its members
    would look reversed. `python bench/flag_threshold.py` compares the flags.)"""
    return np.logaddexp.reduce(log_probs, axis=1) - np.log(log_probs.shape[1])


def _voters(n_raters: int, most: int, seed: int) -> torch.Tensor:
    if n_raters == 0:
        return torch.tensor([UNKNOWN_RATER])      # only the population can vote
    if n_raters <= most:
        return torch.arange(n_raters)
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.sort(rng.choice(n_raters, most, replace=False)))
