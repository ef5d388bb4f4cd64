"""`lowrank`: personal rewards as combinations of K shared reward directions.

Free form (reward features; "Capturing Individual Human Preferences with Reward
Features", Barreto et al., 2025): r_u(x) = (w0 + V z_u) . phi(x), with z_u
shrunk toward 0 (the population).

Simplex form (LoRe, "Personalizing LLMs via Low-Rank Reward Modeling", Bose et
al., 2025): K basis rewards B_k . phi(x) and r_u(x) = sum_k a_uk B_k . phi(x)
with a_u on the probability simplex; the population mixes by the mean weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..base import LinearRaterModel, ModelConfig, gather_rater
from ..registry import option, register, size


@dataclass(frozen=True)
class LowRankConfig(ModelConfig):
    rank: int = size(8)
    simplex: bool = False     # True: LoRe's weights on the simplex over K basis rewards
    l2: float = option(1e-4, at_least=0)


@register
class LowRank(LinearRaterModel):
    family = "lowrank"
    trains_on_differences = True   # pair_design reads chosen - rejected only
    Config = LowRankConfig
    rank_option = "rank"

    def __init__(self, config: LowRankConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        self.param_space = "simplex" if config.simplex else "real"
        self.base = nn.Linear(dim, 1)                                   # w0 (unused on the simplex)
        self.basis = nn.Linear(dim, config.rank, bias=False)           # V or B: (K, D)
        nn.init.normal_(self.basis.weight, std=0.1)
        self.rater_weights = nn.Parameter(                             # z_u, or simplex logits
            0.01 * torch.randn(len(self.raters), config.rank))

    def item_design(self, emb, prompt=None):
        offset = torch.zeros(len(emb)) if self.config.simplex else self.base(emb).squeeze(-1)
        return offset, self.basis(emb)

    def pair_design(self, batch):
        # Both maps are linear: one pass over the difference instead of two (the bias cancels).
        diff = batch.chosen - batch.rejected
        offset = torch.zeros(len(diff)) if self.config.simplex else diff @ self.base.weight[0]
        return offset, self.basis(diff)

    def theta(self, rater):
        table = F.softmax(self.rater_weights, -1) if self.config.simplex else self.rater_weights
        return gather_rater(table, rater, self.population_theta())

    def default_population_theta(self):
        if self.config.simplex:
            return F.softmax(self.rater_weights, -1).mean(0) if self.n_raters \
                else torch.full((self.config.rank,), 1.0 / self.config.rank)
        return torch.zeros(self.config.rank)

    def penalty(self):
        shared = self.config.l2 * ((self.basis.weight ** 2).sum() + (self.base.weight ** 2).sum())
        return shared + self.config.rater_l2 * (self.rater_weights ** 2).sum(-1).mean()
