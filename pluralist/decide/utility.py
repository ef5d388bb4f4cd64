"""Each rater's (and each group's) utility for each of N candidate responses, on one
scale that makes raters comparable.

Raw rewards are not comparable: their scale differs between families (a GPM score
has a temperature, a low-rank reward an arbitrary norm) and between raters. So a
rater's utility for candidate i is read off what the model predicts that rater
would choose among the N candidates:

    P_r(i > j) = sigmoid(m_r(i, j)),   P_r(i > i) = 1/2,
    u_r(i)     = (1 / N) sum_j P_r(i > j)

where m_r(i, j) is the model's margin of the pair for rater r: for an intransitive
family such as `gpm` the margin of the pair itself, not a difference of rewards.
u_r(i) is the probability that r prefers i to a candidate drawn at random from the N
(itself counting as a tie): the `win` scale, in (0, 1), calibrated as the model is.
It is a probabilistic Borda score (Borda, 1781; see Zwicker, "Introduction to the
Theory of Voting", ch. 2 of Brandt et al. (eds.), Handbook of Computational Social
Choice, 2016). Ties are left out of P (the model's tie band is not a choice).

The `rank` scale replaces P_r(i > j) by its hard version (1 where m > 0, 1/2 where
m = 0): the rater's normalised Borda score. It is unchanged by any increasing
transformation of a rater's rewards (rescaling one rater's rewards changes nothing),
and blind to how strongly the rater prefers one to another. The `win` scale is not
invariant to rescaling: a model that makes a rater more decisive gives them utilities
further from 1/2, as their choices would be.

Utilities of a group are the mean of its raters'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.io import iter_records
from ..data.records import FieldReader
from ..errors import DataError
from ..models.base import PreferenceModel, RaterProfile, evaluating
from ..models.data import UNKNOWN_RATER, Batch

SCALES = ("win", "rank")
CHUNK_PAIRS = 16384   # ordered pairs scored at once: bounds memory at (pairs x raters) floats


@dataclass(frozen=True)
class Electorate:
    """Who is decided for: each rater's id and group, and how the model knows them
    (a seen rater's index in the model's vocabulary, an adapted profile, or neither:
    the population)."""

    raters: tuple[str, ...]                     # (R,)
    groups: tuple[str, ...]                     # (R,) group of each rater
    seen: tuple[int, ...]                       # (R,) index in model.raters, or UNKNOWN_RATER
    profiles: Mapping[str, RaterProfile] = field(default_factory=dict)

    def __post_init__(self):
        if not self.raters:
            raise DataError("no rater to decide for")
        if not len(self.raters) == len(self.groups) == len(self.seen):
            raise ValueError("raters, groups and seen must have one entry per rater")

    def __len__(self) -> int:
        return len(self.raters)


def electorate(model: PreferenceModel, groups: Mapping[str, str] | None = None,
               profiles: Mapping[str, RaterProfile] | None = None,
               raters: list[str] | None = None) -> tuple[Electorate, list[str]]:
    """The raters to decide for, and those of `groups` the model cannot speak for.

    `raters` None: every rater named in `groups` that the model has seen or has a
    profile for; without `groups`, every seen rater and every profiled one, each their
    own group. A rater named in `raters` that the model knows neither way gets the
    population's preferences. Returns (electorate, the left-out raters of `groups`)."""
    profiles = dict(profiles or {})
    index = {rater: i for i, rater in enumerate(model.raters)}
    known = lambda rater: rater in index or rater in profiles
    if raters is None:
        pool = list(groups) if groups is not None else [*model.raters, *profiles]
        raters = [rater for rater in dict.fromkeys(pool) if known(rater)]
        left_out = [rater for rater in (groups or {}) if not known(rater)]
    else:
        left_out = []
    group_of = (lambda rater: groups.get(rater, rater)) if groups is not None else (lambda rater: rater)
    seen = tuple(index.get(rater, UNKNOWN_RATER) if rater not in profiles else UNKNOWN_RATER
                 for rater in raters)
    used = {rater: profiles[rater] for rater in raters if rater in profiles}
    return Electorate(tuple(raters), tuple(group_of(r) for r in raters), seen, used), left_out


def win_probabilities(model: PreferenceModel, voters: Electorate, candidates: torch.Tensor,
                      prompts: torch.Tensor) -> np.ndarray:
    """(S, R, N, N) P_r(i > j) for S prompts' N candidates each: `candidates` (S, N, D)
    embeddings, `prompts` (S, D) the prompts' embeddings."""
    n_sets, n = candidates.shape[:2]
    first, second = np.nonzero(~np.eye(n, dtype=bool))           # every ordered pair i != j
    margins = np.zeros((n_sets, len(voters), n, n))
    sets_per_chunk = max(1, CHUNK_PAIRS // len(first))
    with evaluating(model):
        for start in range(0, n_sets, sets_per_chunk):
            rows = np.arange(start, min(n_sets, start + sets_per_chunk))
            batch = _pair_batch(candidates[rows], prompts[rows], first, second)
            chunk = _voter_margins(model, voters, batch)           # (len(rows) * P, R)
            margins[rows[:, None], :, first, second] = chunk.reshape(len(rows), len(first), -1)
    return sigmoid(margins)   # the diagonal's margin is 0: P = 1/2 there


def _pair_batch(candidates: torch.Tensor, prompts: torch.Tensor, first, second) -> Batch:
    """Every ordered pair (first[p], second[p]) of each prompt's candidates, one row each."""
    n_sets, pairs = len(candidates), len(first)
    chosen = candidates[:, first].reshape(n_sets * pairs, -1)             # (S * P, D)
    rejected = candidates[:, second].reshape(n_sets * pairs, -1)
    prompt_rows = torch.arange(n_sets).repeat_interleave(pairs)
    size = n_sets * pairs
    return Batch(chosen, rejected, prompt_rows, prompts, torch.full((size,), UNKNOWN_RATER),
                 torch.zeros(size, dtype=torch.bool), torch.zeros(size), torch.ones(size))


def _voter_margins(model: PreferenceModel, voters: Electorate, batch: Batch) -> np.ndarray:
    """(B, R) each pair's margin for each rater: seen raters and the population in one
    pass (voter_margins), each profile through the family's adapted margin."""
    out = np.zeros((len(batch), len(voters)))
    by_model = [r for r, rater in enumerate(voters.raters) if rater not in voters.profiles]
    if by_model:
        indices = torch.tensor([voters.seen[r] for r in by_model], dtype=torch.long)
        out[:, by_model] = model.voter_margins(batch, indices).double().numpy()
    for r, rater in enumerate(voters.raters):
        if rater in voters.profiles:
            out[:, r] = model.adapted_margin(voters.profiles[rater], batch).double().numpy()
    return out


def win_from_rewards(rewards) -> np.ndarray:
    """(..., R, N, N) P_r(i > j) = sigmoid(reward_r(i) - reward_r(j)) from (..., R, N)
    rewards: a Bradley-Terry rater (the benchmark's true utilities, tests)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    return sigmoid(rewards[..., :, None] - rewards[..., None, :])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), written through tanh so that no margin overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def hard(win: np.ndarray) -> np.ndarray:
    """P_r(i > j) made a choice: 1 where i is preferred, 1/2 where neither is, else 0."""
    return np.where(win > 0.5, 1.0, np.where(win < 0.5, 0.0, 0.5))


def utilities(win: np.ndarray, scale: str = "win") -> np.ndarray:
    """(..., R, N) u_r(i), the mean over j (i included) of P_r(i > j) on `scale`."""
    if scale not in SCALES:
        raise DataError(f"unknown utility scale {scale!r}; choose from {', '.join(SCALES)}",
                        field="scale")
    return (hard(win) if scale == "rank" else win).mean(-1)


def group_utilities(utility: np.ndarray, groups) -> tuple[list[str], np.ndarray]:
    """(group names in sorted order, (G, N) each group's mean utility) from (R, N)."""
    names, member_of = np.unique(np.asarray(groups), return_inverse=True)   # names sorted
    totals = np.zeros((len(names),) + utility.shape[1:])
    np.add.at(totals, member_of.ravel(), utility)
    counts = np.bincount(member_of.ravel(), minlength=len(names)).reshape((-1,) + (1,) * (utility.ndim - 1))
    return names.tolist(), totals / counts


def read_groups(path) -> dict[str, str]:
    """rater -> group from any file pluralist reads with `rater` and `group` columns (a
    comparison file with a group column will do: its raters repeat, each in one group)."""
    group_of: dict[str, tuple[str, str]] = {}
    for where, record in iter_records(path):
        reader = FieldReader(record, source=str(path), where=where)
        rater, group = reader.identifier("rater"), reader.identifier("group")
        before = group_of.setdefault(rater, (group, where))
        if before[0] != group:
            reader.fail("group", f"rater {rater!r} is in group {group!r} here but in "
                                 f"{before[0]!r} at {before[1]}")
    if not group_of:
        raise DataError("no raters", source=str(path))
    return {rater: group for rater, (group, _) in group_of.items()}
