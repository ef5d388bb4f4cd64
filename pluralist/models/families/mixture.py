"""`mixture`: K reward heads and a per-rater (or per-prompt) choice among them.

EM form (MaxMin-RLHF, Chakraborty et al., 2024): each rater belongs to a head
with a latent membership; the E-step (once per epoch, through the training
loop's hook) sets soft or hard memberships from each rater's whole history,
the M-step trains the heads on membership-weighted likelihoods.

Router form (MiCRo, Shen et al., 2025): mixture weights come from the prompt
embedding through a router, plus a per-rater bias on the router's logits.

All probabilities are mixed in log space: log sum_k w_k sigma(d_k) is a
logsumexp of log w_k + logsigmoid(d_k), never a raw exponential.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import preference_log_prob, weighted_mean
from ..base import ModelConfig, PreferenceModel, RaterProfile, gather_rater
from ..registry import option, register, size


@dataclass(frozen=True)
class MixtureConfig(ModelConfig):
    components: int = size(4)
    assignment: str = option("soft", choices=("soft", "hard"))   # EM memberships
    router: bool = False         # MiCRo: prompt-conditioned mixture weights
    l2: float = option(1e-4, at_least=0)


@register
class Mixture(PreferenceModel):
    family = "mixture"
    unused_options = ("rater_l2",)   # no L2 penalty on per-rater parameters
    Config = MixtureConfig
    rank_option = "components"

    def __init__(self, config: MixtureConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        k = config.components
        self.heads = nn.Linear(dim, k)
        nn.init.normal_(self.heads.weight, std=0.5)
        membership = torch.distributions.Dirichlet(torch.ones(k)).sample((len(self.raters),))
        self.register_buffer("membership", membership)                 # (R, K)
        self.register_buffer("prior", torch.full((k,), 1.0 / k))       # (K,)
        if config.router:
            self.router = nn.Linear(dim, k)
            self.rater_bias = nn.Parameter(torch.zeros(len(self.raters), k))

    # --- mixing weights ------------------------------------------------------
    def log_weights(self, rater, prompt) -> torch.Tensor:
        """(B, K) log mixture weights for each comparison."""
        if self.config.router:
            bias = gather_rater(self.rater_bias, rater, torch.zeros(self.config.components))
            return F.log_softmax(self.router(prompt) + bias, -1)
        return torch.log(gather_rater(self.membership, rater, self.prior).clamp(min=1e-12))

    def component_log_probs(self, batch) -> torch.Tensor:
        """(B, K) log P(outcome | head k)."""
        d = self.heads(batch.chosen) - self.heads(batch.rejected)
        threshold = F.softplus(self.tie_threshold_raw)
        return preference_log_prob(d, batch.strength[:, None], batch.tie[:, None], threshold,
                                   self.config.ties)

    def _prompt(self, batch):
        """The batch's prompts where the router reads them (else never gathered)."""
        return batch.prompt if self.config.router else None

    # --- the contract -------------------------------------------------------
    def log_prob(self, batch):
        return torch.logsumexp(self.log_weights(batch.rater, self._prompt(batch))
                               + self.component_log_probs(batch), -1)

    def margin(self, batch):
        """The logit of the mixture's P(chosen preferred)."""
        log_w = self.log_weights(batch.rater, self._prompt(batch))
        d = self.heads(batch.chosen) - self.heads(batch.rejected)
        return _mixed_margin(log_w, d)

    def voter_margins(self, batch, voters):
        """(B, V) margins of every voter at once: the heads are scored once, and only the
        mixing weights differ by voter (a pass per voter took most of a report's
        reliability section for this family)."""
        d = (self.heads(batch.chosen) - self.heads(batch.rejected)).unsqueeze(1)    # (B, 1, K)
        if self.config.router:
            bias = gather_rater(self.rater_bias, voters, torch.zeros(self.config.components))
            log_w = F.log_softmax(self.router(batch.prompt).unsqueeze(1) + bias, -1)  # (B, V, K)
        else:
            log_w = self.log_weights(voters, None).unsqueeze(0)                      # (1, V, K)
        return _mixed_margin(log_w, d)

    def loss(self, batch):
        if self.config.router:
            data_term = -weighted_mean(self.log_prob(batch), batch.weight)
        else:  # M-step: memberships are fixed responsibilities
            resp = gather_rater(self.membership, batch.rater, self.prior)
            data_term = -weighted_mean((resp * self.component_log_probs(batch)).sum(-1), batch.weight)
        return data_term + self.config.l2 * (self.heads.weight ** 2).sum()

    def reward(self, raters, emb, prompt=None):
        """Expected reward under the rater's mixture weights."""
        prompt = emb if prompt is None else prompt
        return (self.log_weights(raters, prompt).exp() * self.heads(emb)).sum(-1)

    @torch.no_grad()
    def e_step(self, data, rows):
        if self.config.router:
            return
        totals = torch.zeros(self.n_raters, self.config.components)
        for batch in data.batches(rows):
            known = batch.rater >= 0
            totals.index_add_(0, batch.rater[known], self.component_log_probs(batch)[known])
        self.membership.copy_(self._posterior(totals, torch.log(self.prior)))
        self.prior.copy_(self.membership.mean(0).clamp(min=1e-6) / self.membership.mean(0).clamp(min=1e-6).sum())

    def _posterior(self, log_likelihood, log_prior):
        log_post = log_likelihood + log_prior
        if self.config.assignment == "hard":
            return F.one_hot(log_post.argmax(-1), self.config.components).float()
        return F.softmax(log_post, -1)

    @torch.no_grad()
    def fit_profile(self, batch) -> RaterProfile:
        """Closed form: the posterior over heads given the rater's comparisons."""
        log_lik = self.component_log_probs(batch).sum(0)
        if self.config.router:
            base = F.softmax(self.router(batch.prompt), -1).mean(0)
            post = F.softmax(log_lik + torch.log(base), -1)
            return RaterProfile(self.family, {"bias": torch.log(post / base).tolist()}, len(batch))
        soft = F.softmax(log_lik + torch.log(self.prior), -1)  # adaptation stays soft
        return RaterProfile(self.family, {"membership": soft.tolist()}, len(batch))

    def shrink(self, profile, trust):
        """Memberships mixed with the population's; a router's bias scaled toward none."""
        if "bias" in profile.values:
            values = {"bias": [trust * b for b in profile.values["bias"]]}
        else:
            values = {"membership": (trust * torch.tensor(profile.values["membership"])
                                     + (1 - trust) * self.prior).tolist()}
        return dataclasses.replace(profile, values=values)

    def reward_adapted(self, profile, emb, prompt=None):
        if self.config.router:
            prompt = emb if prompt is None else prompt
            weights = F.softmax(self.router(prompt) + torch.tensor(profile.values["bias"]), -1)
        else:
            weights = torch.tensor(profile.values["membership"]).expand(len(emb), -1)
        return (weights * self.heads(emb)).sum(-1)

    def rater_parameters(self):
        if self.config.router:   # memberships then depend on the prompt: no one point per rater
            return None
        return self.membership.numpy().round(5).tolist()

    def diagnostics(self):
        return {"component_shares": self.membership.mean(0).round(decimals=3).tolist()}


def _mixed_margin(log_w: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """The logit of sum_k w_k sigma(d_k), from log weights and head margins (last axis K;
    leading axes broadcast: one comparison per row, or comparisons by voters)."""
    return torch.logsumexp(log_w + F.logsigmoid(d), -1) - torch.logsumexp(log_w + F.logsigmoid(-d), -1)
