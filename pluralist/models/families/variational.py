"""`variational`: VPL, "Personalizing Reinforcement Learning from Human Feedback
with Variational Preference Learning" (Poddar et al., 2024).

An encoder maps a rater's context comparisons to a Gaussian latent q(z | context)
with mean and log-variance; a decoder scores r(x, z) = (w0 + W z) . phi(x); the
ELBO is the expected log-likelihood of the rater's other comparisons minus
kl_weight * KL(q || N(0, I)). The encoder is built so that reversing every
label of a context negates the mean and keeps the variance: the mean pools an
odd function of the embedding differences (bias-free tanh layer), the variance
an even one (their squares). Posterior collapse is this family's known failure,
so `diagnostics` reports the number of active latent units (Burda et al., 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..losses import preference_log_prob, weighted_mean
from ..base import LinearRaterModel, ModelConfig, RaterProfile, gather_rater
from ..registry import option, register, size

ACTIVE_UNIT_VARIANCE = 0.01
ENCODE_CHUNK = 1024   # raters encoded at once by the e-step: memory, not the result, decides
RUN_CONTEXTS = 4   # a training run of one rater's rows is this many context lengths at most


@dataclass(frozen=True)
class VariationalConfig(ModelConfig):
    latent: int = size(8)
    hidden: int = size(64)
    context: int = size(16)     # comparisons per rater that the encoder sees
    kl_weight: float = option(0.01, at_least=0)


@register
class Variational(LinearRaterModel):
    family = "variational"
    unused_options = ("rater_l2",)   # no L2 penalty on per-rater parameters
    trains_on_differences = True   # pair_design reads chosen - rejected only
    Config = VariationalConfig
    rank_option = "latent"

    def __init__(self, config: VariationalConfig, *, dim, raters):
        super().__init__(config, dim=dim, raters=raters)
        self.pair_features = nn.Linear(dim, config.hidden, bias=False)   # odd in its input
        self.to_mean = nn.Linear(config.hidden, config.latent, bias=False)
        self.to_log_var = nn.Linear(config.hidden, config.latent)
        self.base = nn.Linear(dim, 1)
        self.decoder = nn.Linear(dim, config.latent, bias=False)         # W^T
        self.register_buffer("rater_latent", torch.zeros(len(self.raters), config.latent))
        self._context: torch.Tensor | None = None    # (R, C) rows of each rater's context, not saved
        self._context_data = None                    # the PreferenceData those rows index

    def posterior(self, differences: torch.Tensor, mask: torch.Tensor | None = None):
        """differences (R, C, D) of chosen minus rejected; mask (R, C). -> mean, log_var (R, L)."""
        h = self.pair_features(differences)                              # (R, C, H)
        mask = torch.ones(h.shape[:2]) if mask is None else mask
        weights = (mask / mask.sum(-1, keepdim=True).clamp(min=1)).unsqueeze(-1)
        mean = self.to_mean((torch.tanh(h) * weights).sum(1))
        log_var = self.to_log_var((h ** 2 * weights).sum(1)).clamp(-8, 4)
        return mean, log_var

    # --- training -----------------------------------------------------------
    @torch.no_grad()
    def e_step(self, data, rows):
        """Resample each rater's context and refresh the latent means used for evaluation.
        The contexts are kept as rows of `data` (R, C), gathered when encoded: a dense
        (R, C, D) copy would be 245 MB at 10,000 raters, refilled every epoch."""
        rng = np.random.default_rng(int(torch.randint(0, 2**31, ())))
        rows = rng.permutation(np.asarray(rows))
        raters = data.rater.numpy()[rows]
        rows, raters = rows[raters >= 0], raters[raters >= 0]
        order = np.argsort(raters, kind="stable")            # random order within each rater
        rows, raters = rows[order], raters[order]
        slot = np.arange(len(rows)) - np.searchsorted(raters, raters, side="left")
        keep = slot < self.config.context
        context = np.full((self.n_raters, self.config.context), -1, dtype=np.int64)
        context[raters[keep], slot[keep]] = rows[keep]
        self._context, self._context_data = torch.from_numpy(context), data
        for start in range(0, self.n_raters, ENCODE_CHUNK):
            chunk = torch.arange(start, min(start + ENCODE_CHUNK, self.n_raters))
            self.rater_latent[chunk] = self.posterior(*self._contexts_of(chunk))[0]

    def _contexts_of(self, raters: torch.Tensor):
        """(differences (U, C, D), mask (U, C)) of these raters' current contexts; empty
        slots hold some row's difference, weighed zero by the mask."""
        rows = self._context[raters]
        differences = self._context_data.differences(rows.clamp(min=0).flatten())
        return differences.view(*rows.shape, -1), (rows >= 0).float()

    finalize = e_step

    def epoch_order(self, data, rows, rng):
        """Rows in runs of one rater each (at most `RUN_CONTEXTS` contexts long), the runs
        shuffled: a minibatch then holds a few raters, each with many comparisons, as VPL's
        minibatches of users with their queries do (Poddar et al., 2024), so the
        encoder runs over a few contexts per step instead of one per comparison (with
        rows shuffled freely a 4096-row batch over 10,000 raters encodes about 3,400)."""
        rows = rng.permutation(np.asarray(rows))
        raters = data.rater.numpy()[rows]
        order = np.argsort(raters, kind="stable")             # random order within each rater
        rows, raters = rows[order], raters[order]
        slot = np.arange(len(rows)) - np.searchsorted(raters, raters, side="left")
        run_length = RUN_CONTEXTS * self.config.context
        run = np.cumsum(np.r_[True, (raters[1:] != raters[:-1]) | (slot[1:] % run_length == 0)]) - 1
        shuffled = rng.permutation(run[-1] + 1) if len(rows) else run
        return rows[np.argsort(shuffled[run], kind="stable")]

    def loss(self, batch):
        raters, inverse = torch.unique(batch.rater.clamp(min=0), return_inverse=True)
        mean, log_var = self.posterior(*self._contexts_of(raters))
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()           # reparameterised
        offset, design = self.pair_design(batch)
        margin = offset + (design * z[inverse]).sum(-1)
        log_lik = preference_log_prob(margin, batch.strength, batch.tie,
                                      nn.functional.softplus(self.tie_threshold_raw), self.config.ties)
        kl = 0.5 * (mean ** 2 + log_var.exp() - 1 - log_var).sum(-1).mean()
        return -weighted_mean(log_lik, batch.weight) + self.config.kl_weight * kl

    # --- the linear-in-z decoder ----------------------------------------------
    def item_design(self, emb, prompt=None):
        return self.base(emb).squeeze(-1), self.decoder(emb)

    def pair_design(self, batch):
        # Both maps are linear: one pass over the difference instead of two (the bias cancels).
        diff = batch.chosen - batch.rejected
        return diff @ self.base.weight[0], self.decoder(diff)

    def theta(self, rater):
        return gather_rater(self.rater_latent, rater, self.population_theta())

    def default_population_theta(self):
        return torch.zeros(self.config.latent)  # the prior mean

    @torch.no_grad()
    def fit_profile(self, batch) -> RaterProfile:
        """Amortised: one pass of the encoder over the new rater's comparisons."""
        mean, log_var = self.posterior((batch.chosen - batch.rejected).unsqueeze(0))
        return RaterProfile(self.family, {"theta": mean[0].tolist(),
                                          "log_variance": log_var[0].tolist()}, len(batch))

    def diagnostics(self):
        active = int((self.rater_latent.var(0) > ACTIVE_UNIT_VARIANCE).sum()) if self.n_raters > 1 else 0
        return {"active_latent_units": active, "latent_units": self.config.latent}
