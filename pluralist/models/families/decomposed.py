"""`decomposed`: DRM, "Decomposed Reward Models" (Luo et al., 2025).

PCA of the embedding differences phi(chosen) - phi(rejected) gives orthogonal
reward directions u_k (each usable with either sign), scaled here so that the
projections have unit spread. A rater's reward is a
weighted sum over directions, r_u(x) = sum_k w_uk u_k . phi(x). A new rater's
weights come from regularised logistic regression over the directions (the
default), or, as in the paper, from a softmax of the negative per-direction
losses on their few comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..base import LinearRaterModel, ModelConfig, RaterProfile, gather_rater
from ..registry import option, register, size

PCA_SAMPLE = 20000  # differences used for the decomposition; enough for 384-d directions


@dataclass(frozen=True)
class DecomposedConfig(ModelConfig):
    directions: int = size(16)
    # "softmax": the paper's loss-softmax weighting
    adapt_method: str = option("logistic", choices=("logistic", "softmax"))
    temperature: float = option(0.05, above=0)   # of the loss softmax


@register
class Decomposed(LinearRaterModel):
    family = "decomposed"
    trains_on_differences = True   # pair_design reads chosen - rejected only
    Config = DecomposedConfig
    rank_option = "directions"

    def __init__(self, config: DecomposedConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        k = config.directions
        # (D, K); with fewer dimensions than directions the last K - D stay zero
        orthonormal = torch.linalg.qr(torch.randn(dim, k))[0]
        self.register_buffer("directions", torch.zeros(dim, k))
        self.directions[:, :orthonormal.shape[1]] = orthonormal
        self.population_weights = nn.Parameter(torch.zeros(k))
        self.rater_offsets = nn.Parameter(torch.zeros(len(self.raters), k))

    @torch.no_grad()
    def prepare(self, data, rows):
        rows = np.asarray(rows)
        if len(rows) > PCA_SAMPLE:
            rows = np.random.default_rng(0).choice(rows, PCA_SAMPLE, replace=False)
        batch = data.batch(rows)
        diffs = (batch.chosen - batch.rejected).double()              # (N, D), uncentred:
        _, _, vh = torch.linalg.svd(diffs, full_matrices=False)        # the mean difference is
        k = min(self.config.directions, vh.shape[0])                   # the consensus direction
        spread = (diffs @ vh[:k].T).std(0).clamp(min=1e-8)            # scale each direction so
        self.directions.zero_()                                        # its projections have unit
        self.directions[:, :k] = (vh[:k].T / spread).float()           # spread: weights are O(1)

    def item_design(self, emb, prompt=None):
        return torch.zeros(len(emb)), emb @ self.directions

    def pair_design(self, batch):
        # linear: one projection of the difference instead of two of the items
        return torch.zeros(len(batch)), (batch.chosen - batch.rejected) @ self.directions

    def theta(self, rater):
        table = self.population_weights + self.rater_offsets
        return gather_rater(table, rater, self.population_theta())

    def default_population_theta(self):
        return self.population_weights

    def penalty(self):
        return self.config.rater_l2 * (self.rater_offsets ** 2).sum(-1).mean()

    def fit_profile(self, batch) -> RaterProfile:
        if self.config.adapt_method == "logistic":
            return super().fit_profile(batch)
        with torch.no_grad():
            projected = (batch.chosen - batch.rejected) @ self.directions        # (k, K)
            scale = self.population_weights.norm().clamp(min=1.0)
            signed = torch.cat([projected, -projected], 1) * scale           # both signs
            losses = -F.logsigmoid(signed).mean(0)                           # (2K,)
            alpha = F.softmax(-losses / self.config.temperature, 0)
            k = self.config.directions
            theta = scale * (alpha[:k] - alpha[k:])
        return RaterProfile(self.family, {"theta": theta.tolist()}, len(batch))
