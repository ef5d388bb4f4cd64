"""Active elicitation: which comparison to ask a new person next.

Strategies, each choosing among the pool's candidates not yet answered or skipped:

- `random`: uniformly at random (the baseline);
- `uncertainty`: the predicted probability nearest 1/2 under the rater's current
  profile (uncertainty sampling, Lewis & Gale, 1994);
- `information`: the expected information gain about the rater's parameters. For a
  Gaussian posterior N(mu, Sigma) of parameters entering the margin linearly, one
  answer to candidate z adds p(1-p) z z' to the precision, so the D-optimal gain is
  log det increase = log(1 + p(1-p) z' Sigma z) / 2, p the predicted probability at
  the posterior mean (Chaloner & Verdinelli, 1995; PReF's uncertainty under the
  Laplace ellipsoid). A batch of b is chosen greedily, each pick conditioning Sigma on
  the ones before (rank-one updates). For `mixture`, the mutual information between
  the answer and the rater's component (BALD, Houlsby et al., 2011). Families with no
  posterior (posterior.NONE) fall back to `uncertainty`, and `criterion` says so;
- `diverse`: `information` with a penalty for candidates close in embedding space
  (|cosine| of the response differences) to those already asked or picked in the
  batch, as BAL-PM does (Melo et al., 2024).

The profile after any answers is exactly `model.adapt` on those answers, so that the
elicitation and `pluralist adapt` never disagree about a rater; the posterior is the
adaptation's own (posterior.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.special import expit

from ..errors import DataError
from ..models import PreferenceModel
from ..models.base import RaterProfile
from ..models.data import UNKNOWN_RATER, Batch
from .pool import Candidates
from .posterior import AMORTISED, LAPLACE, LAPLACE_SIMPLEX, MEMBERSHIP, Posterior, posterior

STRATEGIES = ("random", "uncertainty", "information", "diverse")
GAUSSIAN = (LAPLACE, LAPLACE_SIMPLEX, AMORTISED)
DIVERSITY = 0.5        # `diverse`: share of a candidate's gain lost at |cosine| 1 to an asked one
SCORE_CHUNK = 8192     # candidates per pass where a family's margins need a forward pass


@dataclass(frozen=True, eq=False)
class Belief:
    """What the model holds about the rater after `answers`: the profile it uses
    (model.adapt) and the posterior the strategies reason with."""

    answers: Batch
    profile: RaterProfile
    posterior: Posterior


def believe(model: PreferenceModel, answers: Batch) -> Belief:
    with torch.no_grad():
        return Belief(answers, model.adapt(answers), posterior(model, answers))


def criterion_used(strategy: str, belief: Belief) -> str:
    """What `strategy` actually scores by, for this model."""
    if strategy in ("random", "uncertainty"):
        return strategy
    if belief.posterior.criterion in GAUSSIAN:
        return f"expected information gain ({belief.posterior.criterion} posterior)"
    if belief.posterior.criterion == MEMBERSHIP:
        return "mutual information with the rater's component (BALD)"
    return "uncertainty (the family has no posterior over rater parameters)"


def choose(model: PreferenceModel, candidates: Candidates, belief: Belief, available: np.ndarray,
           *, strategy: str = "information", count: int = 1,
           rng: np.random.Generator | None = None) -> list[int]:
    """Up to `count` pool rows among `available` (N,) bool, best first; [] where none is."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
    open_rows = np.flatnonzero(available)
    count = min(count, len(open_rows))
    if count == 0:
        return []
    if strategy == "random":
        rng = rng or np.random.default_rng(0)
        return rng.choice(open_rows, size=count, replace=False).tolist()
    if strategy == "uncertainty" or belief.posterior.criterion not in (*GAUSSIAN, MEMBERSHIP):
        closeness = -np.abs(expit(profile_margins(model, candidates, belief.profile)) - 0.5)
        return _top(closeness, open_rows, count)
    if belief.posterior.criterion == MEMBERSHIP:
        return _top(membership_information(model, candidates, belief.posterior.membership),
                    open_rows, count)
    penalty = DIVERSITY if strategy == "diverse" else 0.0
    return _greedy_information(candidates, belief, open_rows, count, penalty)


def _top(scores: np.ndarray, open_rows: np.ndarray, count: int) -> list[int]:
    """The `count` open rows of highest score (ties: the earlier row)."""
    order = np.argsort(-scores[open_rows], kind="stable")[:count]
    return open_rows[order].tolist()


def profile_margins(model: PreferenceModel, candidates: Candidates, profile: RaterProfile) -> np.ndarray:
    """(N,) each candidate's margin (a over b) under the profile."""
    if candidates.design is not None:
        return candidates.offset + candidates.design @ np.asarray(profile.values["theta"])
    out = []
    for start in range(0, len(candidates), SCORE_CHUNK):
        rows = np.arange(start, min(start + SCORE_CHUNK, len(candidates)))
        out.append(model.adapted_margin(profile, candidates.batch(rows)).double().numpy())
    return np.concatenate(out)


def gaussian_terms(candidates: Candidates, post: Posterior, rows=None):
    """For the candidates `rows` (all by default): margins at the posterior mean (n,),
    the variance z' Sigma z of each margin (n,), and design @ Sigma (n, K)."""
    design = candidates.design if rows is None else candidates.design[rows]
    offset = candidates.offset if rows is None else candidates.offset[rows]
    spread = design @ post.covariance
    return offset + design @ post.mean, np.einsum("nk,nk->n", spread, design), spread


def _greedy_information(candidates: Candidates, belief: Belief, open_rows: np.ndarray, count: int,
                        penalty: float) -> list[int]:
    """Greedy D-optimal picks; each conditions the margins' variances on the picks before
    it (Sherman-Morrison), and `penalty` discounts candidates like those asked or picked."""
    margin, variance, spread = gaussian_terms(candidates, belief.posterior, open_rows)
    weight = expit(margin) * (1 - expit(margin))
    design = candidates.design[open_rows]
    likeness = _likeness(candidates, _asked_directions(belief.answers))[open_rows] if penalty else None
    picks = []
    while True:
        gain = 0.5 * np.log1p(weight * np.clip(variance, 0.0, None))
        if likeness is not None:
            gain = gain * (1.0 - penalty * likeness)
        gain[picks] = -np.inf
        best = int(np.argmax(gain))
        picks.append(best)
        if len(picks) == count:
            return open_rows[picks].tolist()
        covariance_z = spread[best]                                  # Sigma z of the pick (K,)
        shared = design @ covariance_z                                # z_i' Sigma z   (n,)
        scale = weight[best] / (1.0 + weight[best] * variance[best])
        variance = variance - scale * shared ** 2
        spread = spread - np.outer(scale * shared, covariance_z)
        if likeness is not None:
            picked = candidates.directions[open_rows[best]][None, :]
            likeness = np.maximum(likeness, _likeness(candidates, picked)[open_rows])


def _asked_directions(answers: Batch) -> np.ndarray:
    """(q, D) unit response differences of the answered comparisons."""
    asked = (answers.chosen - answers.rejected).numpy()
    return asked / np.clip(np.linalg.norm(asked, axis=1, keepdims=True), 1e-12, None)


def _likeness(candidates: Candidates, directions: np.ndarray) -> np.ndarray:
    """(N,) the largest |cosine| between each candidate's response difference and any of
    `directions` (q, D); 0 where there are none. One (N, D) x (D, q) product."""
    if not len(directions):
        return np.zeros(len(candidates))
    return np.abs(candidates.directions @ directions.T.astype(candidates.directions.dtype)).max(1)


def membership_information(model: PreferenceModel, candidates: Candidates,
                           membership: np.ndarray) -> np.ndarray:
    """(N,) mutual information (nats) between a candidate's answer and the rater's
    mixture component: H(sum_k pi_k p_k) - sum_k pi_k H(p_k)."""
    with torch.no_grad():
        heads = model.heads(candidates.vectors).double().numpy()            # (T, M)
    p = expit(heads[candidates.a_rows.numpy()] - heads[candidates.b_rows.numpy()])
    return _entropy(p @ membership) - _entropy(p) @ membership


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def expected_accuracy(model: PreferenceModel, candidates: Candidates, belief: Belief,
                      rows: np.ndarray) -> float:
    """The model's own estimate of how often its profile picks the rater's choice among
    the candidates `rows`: for a Gaussian posterior the moderated probability
    sigmoid(|m| / sqrt(1 + pi s / 8)) of the predicted winner (MacKay, 1992), m the
    profile's margin and s its posterior variance; otherwise sigmoid(|m|)."""
    if not len(rows):
        return float("nan")
    margin = profile_margins(model, candidates, belief.profile)[rows]
    if belief.posterior.criterion in GAUSSIAN and candidates.design is not None:
        _, variance, _ = gaussian_terms(candidates, belief.posterior, rows)
        margin = margin / np.sqrt(1.0 + math.pi * np.clip(variance, 0.0, None) / 8.0)
    return float(expit(np.abs(margin)).mean())


def join_batches(first: Batch, second: Batch) -> Batch:
    """Two batches as one, prompts carried as their embeddings (the two may index
    different vector tables)."""
    n = len(first) + len(second)
    return Batch(torch.cat([first.chosen, second.chosen]), torch.cat([first.rejected, second.rejected]),
                 torch.arange(n), torch.cat([first.prompt, second.prompt]),
                 torch.full((n,), UNKNOWN_RATER), torch.cat([first.tie, second.tie]),
                 torch.cat([first.strength, second.strength]), torch.cat([first.weight, second.weight]))


def empty_batch(dim: int) -> Batch:
    none = torch.zeros(0, dim)
    return Batch(none, none, torch.zeros(0, dtype=torch.long), none, torch.zeros(0, dtype=torch.long),
                 torch.zeros(0, dtype=torch.bool), torch.zeros(0), torch.zeros(0))


class Elicitation:
    """One rater's session over a pool: answers so far (`prior` answers from before,
    then this session's), the belief after them, the candidates still open."""

    def __init__(self, model: PreferenceModel, candidates: Candidates, *, prior: Batch | None = None,
                 answered=(), strategy: str = "information", seed: int = 0):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; one of {', '.join(STRATEGIES)}")
        self.model, self.candidates, self.strategy = model, candidates, strategy
        self.rng = np.random.default_rng(seed)
        self.answers = prior if prior is not None else empty_batch(model.dim)
        answered = set(answered)
        self.available = np.array([key not in answered for key in candidates.pool.keys()], dtype=bool)
        self.duplicates = int((~self.available).sum())   # pool pairs answered before this session
        self._belief: Belief | None = None

    @property
    def belief(self) -> Belief:
        if self._belief is None:
            self._belief = believe(self.model, self.answers)
        return self._belief

    def next(self, count: int = 1) -> list[int]:
        return choose(self.model, self.candidates, self.belief, self.available,
                      strategy=self.strategy, count=count, rng=self.rng)

    def answer(self, row: int, outcome: str) -> Belief:
        """Record `outcome` ("a", "b" or "tie") for pool row `row`; the new belief."""
        if outcome not in ("a", "b", "tie"):
            raise ValueError(f"an outcome is a, b or tie, not {outcome!r}")
        self.answers = join_batches(self.answers, self.candidates.batch([row], [outcome]))
        self.available[row] = False
        self._belief = None
        return self.belief

    def skip(self, row: int) -> None:
        self.available[row] = False

    def expected_accuracy(self) -> float:
        return expected_accuracy(self.model, self.candidates, self.belief, np.flatnonzero(self.available))


# --- a simulated rater -------------------------------------------------------------

@dataclass(frozen=True)
class TruthRater:
    """A rater of the built-in benchmark with known utility weights (R, A) over the
    texts' attributes: answers are drawn by Bradley–Terry, as the benchmark's labels are."""

    rater: str
    weights: np.ndarray
    attributes: dict[str, np.ndarray]

    def probability_a(self, a: str, b: str) -> float:
        return float(expit(self.weights @ (self.attributes[a] - self.attributes[b])))

    def answer(self, a: str, b: str, rng: np.random.Generator) -> str:
        return "a" if rng.random() < self.probability_a(a, b) else "b"


def read_truth_rater(path, rater: str) -> TruthRater:
    """`rater` of a .truth.json written by `pluralist data synth`, checked."""
    source = str(path)
    try:
        truth = json.loads(Path(path).read_text(encoding="utf-8"))
        raters = {r["rater"]: r["weights"] for r in truth["raters"]}
        texts = {t["text"]: np.asarray(t["attributes"], dtype=np.float64) for t in truth["texts"]}
    except OSError as err:
        raise DataError(f"cannot read ({err.strerror or err})", source=source) from None
    except (ValueError, KeyError, TypeError):
        raise DataError("not a ground-truth file of `pluralist data synth` (expected raters with "
                        "weights and texts with attributes)", source=source) from None
    if rater not in raters:
        raise DataError(f"no rater {rater!r} in the ground truth (it has {len(raters)}, e.g. "
                        f"{next(iter(raters), 'none')!r})", source=source, field="raters")
    return TruthRater(rater, np.asarray(raters[rater], dtype=np.float64), texts)
