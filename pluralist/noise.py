"""Learning from noisy labels: strategies that plug into the one training loop.

Each strategy says, per comparison, how much weight the observed label gets
(`keep`) and how much its reversal gets (`flip`); the loop trains on the batch
and its swapped copy with those weights. Because every family's loss is a
weighted likelihood, every family gets every strategy with no code of its own.

- label-smoothing EPS: keep 1 - EPS, flip EPS, the conservative loss of cDPO
  (Mitchell, 2023, "A note on DPO with noisy preferences").
- unbiased EPS: keep (1 - EPS)/(1 - 2 EPS), flip -EPS/(1 - 2 EPS), the unbiased
  loss of robust DPO (Chowdhury et al., 2024, "Provably Robust DPO"): its
  expectation under symmetric flips at rate EPS is the clean loss.
- em: per-rater flip rates learned by expectation-maximisation over label
  correctness (as in LCPO): the E-step gives each comparison's posterior
  probability of being correctly labelled, the M-step trains with it as
  `keep` (and its complement as `flip`) and updates the rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .models.data import Batch, PreferenceData

NOISE_METHODS = ("none", "label-smoothing", "unbiased", "em")


def with_label_weights(batch: Batch, keep: torch.Tensor, flip: torch.Tensor) -> Batch:
    """The batch with weights w*keep, followed by its swap with weights w*flip."""
    swapped = batch.swapped()
    cat = lambda a, b: torch.cat([a, b])
    return Batch(cat(batch.chosen, swapped.chosen), cat(batch.rejected, swapped.rejected),
                 cat(batch.prompt_rows, swapped.prompt_rows), batch.vectors,
                 cat(batch.rater, batch.rater), cat(batch.tie, batch.tie),
                 cat(batch.strength, batch.strength),
                 cat(batch.weight * keep, batch.weight * flip))


@dataclass
class FixedRate:
    """Label smoothing or the unbiased loss for a known flip rate."""

    method: str
    rate: float

    def __post_init__(self):
        if not 0 <= self.rate < 0.5:
            raise ValueError("a flip rate must be in [0, 0.5)")

    def label_weights(self, rows: np.ndarray):
        n = len(rows)
        if self.method == "label-smoothing":
            keep, flip = 1 - self.rate, self.rate
        else:
            keep, flip = (1 - self.rate) / (1 - 2 * self.rate), -self.rate / (1 - 2 * self.rate)
        return torch.full((n,), keep), torch.full((n,), flip)

    def e_step(self, model, data: PreferenceData, rows) -> None:
        pass

    def report(self) -> dict:
        return {"method": self.method, "rate": self.rate}


@dataclass
class EMRates:
    """Per-rater flip rates, shrunk toward the global rate by a Beta prior."""

    n_rows: int
    n_raters: int
    warmup_epochs: int = 2
    prior_strength: float = 10.0
    correct: np.ndarray = field(init=False)     # (N,) posterior P(label correct)
    rater_rates: np.ndarray = field(init=False)  # (R,)
    global_rate: float = 0.1
    _epoch: int = 0

    def __post_init__(self):
        self.correct = np.ones(self.n_rows)
        self.rater_rates = np.full(self.n_raters, self.global_rate)

    def label_weights(self, rows: np.ndarray):
        c = torch.from_numpy(self.correct[rows]).float()
        return c, 1 - c

    @torch.no_grad()
    def e_step(self, model, data: PreferenceData, rows) -> None:
        self._epoch += 1
        if self._epoch <= self.warmup_epochs:
            return
        rows = np.asarray(rows)
        p_observed = np.exp(_log_probs(model, data, rows))
        for _ in range(5):  # E- and rate-updates to a fixed point for this model
            rater = data.rater.numpy()[rows]
            rate = np.where(rater >= 0, self.rater_rates[np.clip(rater, 0, None)], self.global_rate)
            right = (1 - rate) * p_observed
            posterior = right / (right + rate * (1 - p_observed))
            self.correct[rows] = posterior
            self._update_rates(rater, 1 - posterior)

    def _update_rates(self, rater: np.ndarray, wrong: np.ndarray) -> None:
        self.global_rate = float(np.clip(wrong.mean(), 1e-4, 0.499))
        known = rater >= 0
        wrong_sum = np.bincount(rater[known], weights=wrong[known], minlength=self.n_raters)
        counts = np.bincount(rater[known], minlength=self.n_raters)
        a = self.prior_strength * self.global_rate
        self.rater_rates = np.clip((wrong_sum + a) / (counts + self.prior_strength), 1e-4, 0.999)

    def report(self) -> dict:
        return {"method": "em", "global_rate": self.global_rate,
                "rater_rates": self.rater_rates.round(4).tolist()}


def _log_probs(model, data: PreferenceData, rows: np.ndarray) -> np.ndarray:
    model.eval()
    out = [model.log_prob(data.batch(rows[i:i + 8192])) for i in range(0, len(rows), 8192)]
    model.train()
    return torch.cat(out).double().numpy()


def make_noise(method: str, rate: float, data: PreferenceData):
    if method == "none":
        return None
    if method in ("label-smoothing", "unbiased"):
        return FixedRate(method, rate)
    if method == "em":
        return EMRates(len(data), len(data.raters))
    raise ValueError(f"unknown noise method {method!r}; choose from {NOISE_METHODS}")
