"""Learning from noisy labels: strategies that plug into the one training loop.

Every strategy implements one protocol, `LabelNoise`, whose do-nothing default
(`PlainLabels`) takes labels as given; the loop calls it without knowing which
strategy it is. A strategy says, per comparison, how much weight the observed
label gets (`keep`) and how much its reversal gets (`flip`); the loop trains on
the batch and its swapped copy with those weights. Because every family's loss
is a weighted likelihood, every family gets every strategy with no code of its own.

- label-smoothing EPS: keep 1 - EPS, flip EPS, the conservative loss of cDPO
  (Mitchell, 2023, "A note on DPO with noisy preferences").
- unbiased EPS: keep (1 - EPS)/(1 - 2 EPS), flip -EPS/(1 - 2 EPS), the unbiased
  loss of robust DPO (Chowdhury et al., 2024, "Provably Robust DPO"): its
  expectation under symmetric flips at rate EPS is the clean loss.
- em: per-rater flip rates and expectation-maximisation over label
  correctness (as in LCPO): the E-step gives each comparison's posterior
  probability of being correctly labelled, the M-step trains with it as
  `keep` (and its complement as `flip`). The rates are not re-estimated from
  those posteriors: a personalised model absorbs noise by shrinking its
  margins, which drives that estimate toward zero. They are measured on
  anchor points instead: the share of labels against the model among the
  held-out (validation) comparisons it is surest about, pooled and per rater,
  the latter shrunk toward the former (see anchors.py).
- peer-review: a peer model of the same family is trained alongside; each
  model learns only from the comparisons its peer finds most plausible
  (smallest loss), chosen per rater each epoch, the kept share falling from
  all to 1 - RATE after a few epochs of warm-up (Collaborative Reward
  Modeling, after Co-teaching, Han et al., 2018).

With every strategy, early stopping scores the validation labels under the
strategy's own noise model (`channel_log_prob`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import ModelError
from ..models import build_model
from ..models.base import log_probs, margins
from ..models.data import Batch, PreferenceData
from .adam import Adam
from .anchors import anchors

NOISE_METHODS = ("none", "label-smoothing", "unbiased", "em", "peer-review")


def channel_log_prob(model, batch: Batch, rate: torch.Tensor | float) -> torch.Tensor:
    """(B,) log P(recorded label) when the model's margins describe the clean labels and
    each is flipped with probability `rate`: log((1 - rate) P(label) + rate P(reversal)).

    Early stopping scores validation rows with this, not with the plain likelihood:
    the noisy validation labels are what the strategy's noise model says they are,
    and the plain likelihood instead rewards margins shrunk to fit the flips, so it
    stops robust training early."""
    rate = torch.as_tensor(rate, dtype=torch.float32)
    if not bool((rate > 0).any()):
        return model.log_prob(batch)
    return torch.logaddexp(torch.log1p(-rate) + model.log_prob(batch),
                           torch.log(rate) + model.log_prob(batch.swapped()))


def check_flip_rate(rate: float) -> None:
    if not 0 <= rate < 0.5:
        raise ModelError(f"a flip rate must be in [0, 0.5), got {rate}")


def check_noise_option(method: str, rate: float) -> None:
    """Refuse, before any work, a method not offered, a rate where none is used, none
    where one is needed, and a rate outside [0, 0.5) (0 for peer review: its default)."""
    if method not in NOISE_METHODS:
        raise ModelError(f"unknown noise method {method!r}; choose from {', '.join(NOISE_METHODS)}")
    if method in ("none", "em") and rate != 0:
        raise ModelError(f"noise method {method!r} takes no flip rate (got {rate})"
                         + (": EM learns its rates" if method == "em" else ""))
    if method in ("label-smoothing", "unbiased") and rate == 0:
        raise ModelError(f"noise method {method!r} needs the known flip rate, in (0, 0.5)")
    check_flip_rate(rate)


@dataclass(frozen=True)
class NoiseSpec:
    """How to treat possibly flipped labels, from the command line to the strategy:
    a method of NOISE_METHODS and its flip rate (0 where the method takes none)."""

    method: str = "none"
    rate: float = 0.0

    def __post_init__(self):
        check_noise_option(self.method, self.rate)


class LabelNoise:
    """The protocol the training loop calls, with do-nothing defaults: labels taken as
    given. A strategy overrides what it needs."""

    def start_epoch(self, model, data: PreferenceData, train_rows, val_rows) -> None:
        """At the start of every epoch (after the family's own e_step)."""

    def before_step(self, rows: np.ndarray, batch: Batch) -> None:
        """Before the model's step on `batch`: a strategy that trains something of its
        own (peer review's peer) does it here."""

    def weigh(self, rows: np.ndarray, batch: Batch) -> Batch:
        """The batch the model trains on: label weights, with reversed copies if any."""
        return batch

    def observed_log_prob(self, model, batch: Batch) -> torch.Tensor:
        """(B,) log P(recorded label) under the strategy's noise model (early stopping)."""
        return model.log_prob(batch)

    def report(self) -> dict | None:
        """What the strategy learned, for TrainResult.noise (None: nothing)."""
        return None


PlainLabels = LabelNoise


def with_label_weights(batch: Batch, keep: torch.Tensor, flip: torch.Tensor) -> Batch:
    """The batch with weights w*keep, followed by its swap with weights w*flip
    (left out when no reversal carries weight, as in peer review)."""
    if not bool(flip.any()):
        return dataclasses.replace(batch, weight=batch.weight * keep)
    swapped = batch.swapped()
    cat = lambda a, b: torch.cat([a, b])
    return Batch(cat(batch.chosen, swapped.chosen), cat(batch.rejected, swapped.rejected),
                 cat(batch.prompt_rows, swapped.prompt_rows), batch.vectors,
                 cat(batch.rater, batch.rater), cat(batch.tie, batch.tie),
                 cat(batch.strength, batch.strength),
                 cat(batch.weight * keep, batch.weight * flip))


@dataclass
class FixedRate(LabelNoise):
    """Label smoothing or the unbiased loss for a known flip rate."""

    method: str
    rate: float

    def __post_init__(self):
        check_flip_rate(self.rate)

    def label_weights(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(keep, flip) weights of each row's label and of its reversal."""
        n = len(rows)
        if self.method == "label-smoothing":
            keep, flip = 1 - self.rate, self.rate
        else:
            keep, flip = (1 - self.rate) / (1 - 2 * self.rate), -self.rate / (1 - 2 * self.rate)
        return torch.full((n,), keep), torch.full((n,), flip)

    def weigh(self, rows: np.ndarray, batch: Batch) -> Batch:
        return with_label_weights(batch, *self.label_weights(rows))

    def observed_log_prob(self, model, batch: Batch) -> torch.Tensor:
        return channel_log_prob(model, batch, self.rate)

    def report(self) -> dict:
        return {"method": self.method, "rate": self.rate}


@dataclass
class EMRates(LabelNoise):
    """Per-rater flip rates (Beta-shrunk toward the pooled rate) and label posteriors."""

    n_rows: int
    raters: tuple[str, ...]
    warmup_epochs: int = 2
    prior_strength: float = 10.0
    correct: np.ndarray = field(init=False)     # (N,) posterior P(label correct)
    rater_rates: np.ndarray = field(init=False)  # (R,)
    global_rate: float = 0.1
    _epoch: int = 0

    def __post_init__(self):
        self.correct = np.ones(self.n_rows)
        self.rater_rates = np.full(len(self.raters), self.global_rate)

    def label_weights(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(keep, flip): each row's posterior probability of a correct label, and its complement."""
        c = torch.from_numpy(self.correct[rows]).float()
        return c, 1 - c

    def weigh(self, rows: np.ndarray, batch: Batch) -> Batch:
        return with_label_weights(batch, *self.label_weights(rows))

    def observed_log_prob(self, model, batch: Batch) -> torch.Tensor:
        if self._epoch <= self.warmup_epochs:   # trained plainly so far
            return model.log_prob(batch)
        return channel_log_prob(model, batch, torch.from_numpy(self._rates_of(batch.rater.numpy())))

    def _rates_of(self, rater: np.ndarray) -> np.ndarray:
        """Each comparison's flip rate: its rater's, or the pooled one for unknown raters."""
        return np.where(rater >= 0, self.rater_rates[np.clip(rater, 0, None)], self.global_rate)

    def start_epoch(self, model, data: PreferenceData, train_rows, val_rows) -> None:
        self._epoch += 1
        if self._epoch <= self.warmup_epochs:
            return
        rows, holdout = np.asarray(train_rows), val_rows
        # Rates from rows the model has not trained on (the validation rows), where
        # its largest margins are honest; in-sample only when there are none.
        probe = np.asarray(holdout) if len(holdout) else rows
        margin = margins(model, data, probe)
        picked = anchors(margin)
        against = margin[picked] < 0
        self.global_rate = float(np.clip(against.mean(), 1e-4, 0.499))
        self._update_rater_rates(data.rater.numpy()[probe[picked]], against)
        rate = self._rates_of(data.rater.numpy()[rows])
        p_observed = np.exp(log_probs(model, data, rows))
        right = (1 - rate) * p_observed
        self.correct[rows] = right / (right + rate * (1 - p_observed))

    def _update_rater_rates(self, rater: np.ndarray, against: np.ndarray) -> None:
        """Each rater's share of labels against the model on their anchors, Beta-shrunk
        toward the pooled rate (prior_strength pseudo-comparisons)."""
        known = rater >= 0
        against_sum = np.bincount(rater[known], weights=against[known], minlength=len(self.raters))
        counts = np.bincount(rater[known], minlength=len(self.raters))
        a = self.prior_strength * self.global_rate
        self.rater_rates = np.clip((against_sum + a) / (counts + self.prior_strength), 1e-4, 0.999)

    def report(self) -> dict:
        return {"method": "em", "global_rate": self.global_rate,
                "rater_rates": dict(zip(self.raters, self.rater_rates.round(4).tolist()))}


class PeerReview(LabelNoise):
    """Two models of one family, each taught by the other's choice of plausible labels.

    The choice is made per rater, once an epoch: of each rater's comparisons,
    the peer's least plausible share is left out. Chosen over whole batches,
    as in Co-teaching, the left-out labels are mostly those of the raters the
    peer fits worst, a minority taste first, and a family with per-rater
    preferences then fits each rater to the labels that agree with it. Choosing
    from untrained models hurts the minority too, so both train on every label
    for `warmup_epochs` first.
    """

    def __init__(self, peer, rate: float, n_rows: int, *, warmup_epochs: int = 4,
                 ramp_epochs: int = 5, lr: float = 1e-2):
        check_flip_rate(rate)
        self.peer, self.rate = peer, rate
        self.warmup_epochs, self.ramp_epochs = warmup_epochs, ramp_epochs
        self.optimizer = Adam(peer.parameters(), lr=lr)
        self.epoch = 0
        self.kept_for_model = np.ones(n_rows, dtype=bool)   # chosen by the peer
        self.kept_for_peer = np.ones(n_rows, dtype=bool)    # chosen by the model

    @property
    def keep_share(self) -> float:
        ramped = max(self.epoch - self.warmup_epochs, 0) / self.ramp_epochs
        return 1.0 - self.rate * min(ramped, 1.0)

    def start_epoch(self, model, data: PreferenceData, train_rows, val_rows) -> None:
        rows = np.asarray(train_rows)
        if self.epoch == 0:
            self.peer.prepare(data, rows)
        self.peer.e_step(data, rows)
        self.epoch += 1
        if self.keep_share == 1.0:   # warming up: every label kept
            return
        rater = data.rater.numpy()[rows]
        self.kept_for_model[rows] = most_plausible_per_rater(
            log_probs(self.peer, data, rows), rater, self.keep_share)
        self.kept_for_peer[rows] = most_plausible_per_rater(
            log_probs(model, data, rows), rater, self.keep_share)

    def before_step(self, rows: np.ndarray, batch: Batch) -> None:
        """The peer's step on the batch, on the labels the model chose for it."""
        keep = torch.from_numpy(self.kept_for_peer[rows]).float()
        self.peer.train()
        loss = self.peer.loss(dataclasses.replace(batch, weight=batch.weight * keep))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def weigh(self, rows: np.ndarray, batch: Batch) -> Batch:
        keep = torch.from_numpy(self.kept_for_model[rows]).float()
        return dataclasses.replace(batch, weight=batch.weight * keep)

    def observed_log_prob(self, model, batch: Batch) -> torch.Tensor:
        # The validation labels are flipped at the assumed rate whatever share the
        # curriculum keeps for training; scored with the kept share instead, early
        # stopping is plain during warm-up and can stop before anything is left out.
        return channel_log_prob(model, batch, self.rate)

    def report(self) -> dict:
        return {"method": "peer-review", "rate": self.rate, "final_keep_share": self.keep_share}


def most_plausible_per_rater(log_prob: np.ndarray, rater: np.ndarray, share: float) -> np.ndarray:
    """(n,) bool: of each rater's comparisons (unknown raters pooled), the `share`
    with the highest log-probability, at least one."""
    _, group, counts = np.unique(rater, return_inverse=True, return_counts=True)
    order = np.lexsort((-log_prob, group))               # by rater, most plausible first
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(rater), dtype=np.int64)
    rank[order] = np.arange(len(rater)) - first[group[order]]
    return rank < np.maximum(1, np.round(share * counts))[group]


def make_strategy(spec: NoiseSpec, data: PreferenceData, model, *, lr: float = 1e-2,
                  seed: int = 0) -> LabelNoise:
    """The strategy for `spec`; peer review builds a peer like `model` (seeded with
    seed + 1), trained with the step size `lr` the model starts with (TrainConfig.lr)."""
    if spec.method == "none":
        return PlainLabels()
    if spec.method == "peer-review":
        peer = build_model(model.family, dim=model.dim, raters=model.raters, seed=seed + 1,
                           **dataclasses.asdict(model.config))
        return PeerReview(peer, spec.rate if spec.rate != 0 else 0.2, len(data), lr=lr)  # 0: not given
    if spec.method in ("label-smoothing", "unbiased"):
        return FixedRate(spec.method, spec.rate)
    return EMRates(len(data), data.raters)
