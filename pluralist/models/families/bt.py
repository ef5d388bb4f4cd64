"""`bt`: the population Bradley–Terry reward model (Bradley & Terry, 1952).

r(x) = w . phi(x), or a small MLP head on phi(x) (hidden > 0), the same for
every rater. Margins (Llama-2 style) and ties (Rao–Kupper or Davidson) come
from the shared likelihood. It is the baseline every family is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..base import LinearRaterModel, ModelConfig
from ..registry import option, register, size


@dataclass(frozen=True)
class BTConfig(ModelConfig):
    hidden: int = size(0, at_least=0)   # 0: linear reward; > 0: one hidden layer of this width
    l2: float = option(1e-4, at_least=0)  # weight decay on the reward head


@register
class BradleyTerry(LinearRaterModel):
    family = "bt"
    personalised = False
    unused_options = ("rater_l2",)   # no L2 penalty on per-rater parameters
    Config = BTConfig

    def __init__(self, config: BTConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        self.head = nn.Linear(dim, 1) if config.hidden == 0 else nn.Sequential(
            nn.Linear(dim, config.hidden), nn.GELU(), nn.Linear(config.hidden, 1))

    def reads_prompt(self):
        return False

    def item_design(self, emb, prompt=None):
        return self.head(emb).squeeze(-1), emb.new_zeros(len(emb), 0)

    def theta(self, rater):
        return torch.zeros(len(rater), 0)

    def default_population_theta(self):
        return torch.zeros(0)

    def penalty(self):
        return self.config.l2 * sum((p ** 2).sum() for p in self.head.parameters())
