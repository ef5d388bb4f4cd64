"""`ideal_point`: PAL, "Pluralistic Alignment Framework" (Chen et al., 2024).

Items are mapped into a learned space, f(x) = A phi(x) (m dims). Each rater's
ideal point is a convex mix of K prototypes, p_u = sum_k a_uk P_k (PAL-A); with
`prompt_conditioned`, the prototypes depend on the prompt, P_k(q) = P_k + Q_k
phi(q) (PAL-B). The reward is -||f(x) - p_u||^2 (distance), or f(x)/|f(x)| . p_u
(angle). Both are linear in the mixing weights a_u once constants per rater
are dropped, so new raters are fitted on the simplex directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..base import LinearRaterModel, ModelConfig, gather_rater
from ..registry import option, register, size


@dataclass(frozen=True)
class IdealPointConfig(ModelConfig):
    prototypes: int = size(8)
    space_dim: int = size(16)
    prompt_conditioned: bool = False   # PAL-B
    score: str = option("distance", choices=("distance", "angle"))
    l2: float = option(1e-4, at_least=0)


@register
class IdealPoint(LinearRaterModel):
    family = "ideal_point"
    unused_options = ("rater_l2",)   # no L2 penalty on per-rater parameters
    Config = IdealPointConfig
    rank_option = "prototypes"
    param_space = "simplex"

    def __init__(self, config: IdealPointConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        k, m = config.prototypes, config.space_dim
        self.item_map = nn.Linear(dim, m, bias=False)
        self.prototypes = nn.Parameter(0.5 * torch.randn(k, m))
        if config.prompt_conditioned:
            self.prompt_map = nn.Linear(dim, k * m, bias=False)
            nn.init.zeros_(self.prompt_map.weight)
        self.rater_logits = nn.Parameter(0.01 * torch.randn(len(self.raters), k))

    def prototypes_for(self, prompt, n: int) -> torch.Tensor:
        """(B, K, m) prototypes, shifted by the prompt under PAL-B."""
        base = self.prototypes.expand(n, -1, -1)
        if not self.config.prompt_conditioned or prompt is None:
            return base
        return base + self.prompt_map(prompt).view(n, *self.prototypes.shape)

    def reads_prompt(self):
        return self.config.prompt_conditioned

    def item_design(self, emb, prompt=None):
        f = self.item_map(emb)                                              # (B, m)
        if self.config.score == "angle":
            return torch.zeros(len(emb)), self._against_prototypes(F.normalize(f, dim=-1), prompt)
        # -||f - p||^2 = -||f||^2 + 2 f.p - ||p||^2; the last term is the same for every item
        return -(f ** 2).sum(-1), 2 * self._against_prototypes(f, prompt)

    def _against_prototypes(self, f, prompt) -> torch.Tensor:
        """(B, K) f . P_k; without a prompt shift one (B, m) x (m, K) product, not a
        batched product against B copies of the same prototypes."""
        if not self.config.prompt_conditioned or prompt is None:
            return f @ self.prototypes.T
        return torch.einsum("bm,bkm->bk", f, self.prototypes_for(prompt, len(f)))

    def theta(self, rater):
        return gather_rater(F.softmax(self.rater_logits, -1), rater, self.population_theta())

    def default_population_theta(self):
        if not self.n_raters:
            return torch.full((self.config.prototypes,), 1.0 / self.config.prototypes)
        return F.softmax(self.rater_logits, -1).mean(0)

    def penalty(self):
        return self.config.l2 * (self.item_map.weight ** 2).sum()
