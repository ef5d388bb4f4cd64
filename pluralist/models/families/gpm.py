"""`gpm`: General Preference Model (Zhang et al., 2025, "Beyond Bradley-Terry
Models: A General Preference Model for Language Model Alignment").

Each response gets a 2k-dim embedding v(x). With R block-diagonal 90-degree
rotations, s(a, b) = sum_j lambda_j <R_j v_a, v_b> / tau is antisymmetric, so
P(a > b) = sigma(s(a, b)) can express cycles that no scalar reward can. The
per-rater variant gives each rater its own block weights lambda_u (linear in
the score, so new raters are fitted by the convex solver). Because GPM has no
scalar reward, `reward` scores x against the mean training response v_bar:
how strongly x would be preferred to a typical response.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..base import LinearRaterModel, ModelConfig, gather_rater
from ..registry import option, register, size


@dataclass(frozen=True)
class GPMConfig(ModelConfig):
    blocks: int = size(4)                        # k: the embedding has 2k dimensions
    temperature: float = option(0.1, above=0)    # tau
    per_rater: bool = True


@register
class GeneralPreference(LinearRaterModel):
    family = "gpm"
    Config = GPMConfig
    rank_option = "blocks"

    def __init__(self, config: GPMConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        self.embed = nn.Linear(dim, 2 * config.blocks)
        self.block_weights = nn.Parameter(torch.zeros(config.blocks))          # softplus -> lambda
        self.rater_offsets = nn.Parameter(torch.zeros(len(self.raters), config.blocks))
        self.register_buffer("reference", torch.zeros(2 * config.blocks))     # v_bar

    def vectors(self, emb) -> torch.Tensor:
        """(B, k, 2) unit-norm response embedding, one 2-d plane per block."""
        v = F.normalize(self.embed(emb), dim=-1)
        return v.view(len(emb), self.config.blocks, 2)

    def block_scores(self, va, vb) -> torch.Tensor:
        """(B, k) <R_j va_j, vb_j>: the 2-d cross product in each block, antisymmetric."""
        return (va[..., 0] * vb[..., 1] - va[..., 1] * vb[..., 0]) / self.config.temperature

    def pair_design(self, batch):
        scores = self.block_scores(self.vectors(batch.chosen), self.vectors(batch.rejected))
        return torch.zeros(len(batch)), scores

    def item_design(self, emb, prompt=None):
        reference = self.reference.view(1, self.config.blocks, 2).expand(len(emb), -1, -1)
        return torch.zeros(len(emb)), self.block_scores(self.vectors(emb), reference)

    def theta(self, rater):
        if not self.config.per_rater:
            return self.population_theta().expand(len(rater), -1)
        table = F.softplus(self.block_weights + self.rater_offsets)
        return gather_rater(table, rater, self.population_theta())

    def default_population_theta(self):
        return F.softplus(self.block_weights)

    def penalty(self):
        return self.config.rater_l2 * (self.rater_offsets ** 2).sum(-1).mean()

    @torch.no_grad()
    def finalize(self, data, rows):
        used = torch.unique(torch.cat([data.chosen[rows], data.rejected[rows]]))
        self.reference.copy_(self.vectors(data.vectors[used]).mean(0).flatten())
