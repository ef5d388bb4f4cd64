"""The one model contract every family implements.

`PreferenceModel` gives log_prob, loss and ties to every family from a single
`margin`. `LinearRaterModel` covers the families whose rater parameters theta
enter the margin linearly, d = offset + X theta: training, rewards and
new-rater adaptation (a small convex solve) then come for free.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.holdout import holdout
from ..metrics import log_loss
from .losses import preference_log_prob, weighted_mean
from .data import Batch, PreferenceData
from .solve import solve_linear_rater
from .solve_batched import solve_linear_raters


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters shared by every family; families extend this dataclass."""

    rater_l2: float = 1e-3      # shrinks each seen rater's parameters toward the population
    ties: str = "rao-kupper"    # or "davidson"


@dataclass
class RaterProfile:
    """What adaptation learns about one new rater, JSON-ready."""

    family: str
    values: dict[str, list[float]] = field(default_factory=dict)
    comparisons: int = 0


class PreferenceModel(nn.Module):
    family: ClassVar[str]
    Config: ClassVar[type] = ModelConfig
    rank_option: ClassVar[str | None] = None   # the Config field that `--rank` sets
    personalised: ClassVar[bool] = True         # has per-rater preferences (bt has not)
    # shared Config fields this family has no use for: setting one is refused, not ignored
    unused_options: ClassVar[tuple[str, ...]] = ()
    # The training loss reads a batch's embeddings only as chosen - rejected: the loop may
    # then stream the difference as `chosen` and zeros as `rejected` (data.py), the same
    # loss to the bit from one gather pass over the vector table instead of two.
    trains_on_differences: ClassVar[bool] = False

    def __init__(self, config: ModelConfig, *, dim: int, raters: tuple[str, ...]):
        super().__init__()
        self.config, self.dim, self.raters = config, dim, tuple(raters)
        # What the embeddings were; set by training, checked by the loader.
        self.encoder_id, self.text_format = "unknown", "response"
        self.tie_threshold_raw = nn.Parameter(torch.tensor(0.0))
        # Prior precision for new raters, chosen on validation data after training.
        self.register_buffer("adapt_prior", torch.tensor(1.0))
        # How far a new rater's profile moves from the population after k comparisons
        # (1: the family's own fit, 0: the population), chosen after training
        # (training/calibrate.py) so that adapting never loses to the population.
        self.register_buffer("trust_shots", torch.zeros(0, dtype=torch.long))
        self.register_buffer("trust", torch.zeros(0))

    @property
    def n_raters(self) -> int:
        return len(self.raters)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The trust table's length is the calibration's, not the config's; a model saved
        # before it existed trusts every fit fully, as it did then.
        for name, empty in (("trust_shots", torch.zeros(0, dtype=torch.long)), ("trust", torch.zeros(0))):
            saved = state_dict.setdefault(prefix + name, empty)
            setattr(self, name, torch.empty_like(saved))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # --- the contract -------------------------------------------------------
    def margin(self, batch: Batch) -> torch.Tensor:
        """(B,) score of chosen minus score of rejected, for each comparison's rater."""
        raise NotImplementedError

    def reward(self, raters: torch.Tensor, emb: torch.Tensor, prompt: torch.Tensor | None = None):
        """(B,) reward of each embedding for each rater; UNKNOWN_RATER gets the population's."""
        raise NotImplementedError

    def fit_profile(self, batch: Batch) -> RaterProfile:
        """The family's own fit of a new rater, every shared part frozen."""
        raise NotImplementedError

    def shrink(self, profile: RaterProfile, trust: float) -> RaterProfile:
        """The profile moved toward the population: trust 1 keeps it, 0 is the population."""
        raise NotImplementedError

    def fit_profiles(self, batch: Batch, k: int) -> list[RaterProfile]:
        """fit_profile of each run of k consecutive comparisons of `batch`, each run a new
        rater of its own (the calibration fits thousands); families may solve them at once."""
        return [self.fit_profile(_rows_of(batch, np.arange(start, start + k)))
                for start in range(0, len(batch), k)]

    def adapt(self, batch: Batch) -> RaterProfile:
        """A new rater from a few comparisons: the family's fit, trusted as far as the
        calibration after training found it worth for that many comparisons, and not at
        all where the rater's own comparisons say it predicts them worse than the
        population does (cross_check)."""
        profile = self.fit_profile(batch)
        trust = self.trust_at(len(batch))
        if trust > 0 and not self.cross_check(batch):
            trust = 0.0
        return profile if trust == 1.0 else self.shrink(profile, trust)

    def cross_check(self, batch: Batch) -> bool:
        """Whether the family's fit on one half of the comparisons predicts the other half
        better than the population, both ways round (halves that share no text; too few
        comparisons to split: True, the calibrated trust decides alone)."""
        halves = text_halves(batch)
        if halves is None:
            return True
        gain = 0.0
        for fit, test in (halves, halves[::-1]):
            profile, held = self.fit_profile(_rows_of(batch, fit)), _rows_of(batch, test)
            own = self.adapted_margin(profile, held).numpy()
            population = self.adapted_margin(self.shrink(profile, 0.0), held).numpy()
            tie = held.tie.numpy()
            gain += len(test) * (log_loss(population, tie) - log_loss(own, tie))
        return gain > 0

    def trust_at(self, k: int) -> float:
        """The trust chosen for the largest calibrated k not above `k` (1 where none is)."""
        below = (self.trust_shots <= k).nonzero().flatten()
        return float(self.trust[below[-1]]) if len(below) else 1.0

    def reward_adapted(self, profile: RaterProfile, emb, prompt=None) -> torch.Tensor:
        raise NotImplementedError

    def adapted_margin(self, profile: RaterProfile, batch: Batch) -> torch.Tensor:
        """(B,) margins of comparisons for a rater described by `profile`."""
        with torch.no_grad():
            return (self.reward_adapted(profile, batch.chosen, batch.prompt)
                    - self.reward_adapted(profile, batch.rejected, batch.prompt))

    def voter_margins(self, batch: Batch, voters: torch.Tensor) -> torch.Tensor:
        """(B, V) margin of each comparison under each voter's preferences (robust/reversal.py);
        one margin pass per voter, which families override with one pass for all."""
        return torch.stack([self.margin(dataclasses.replace(batch, rater=torch.full_like(batch.rater, voter)))
                            for voter in voters.tolist()], 1)

    def rater_parameters(self) -> list[list[float]] | None:
        """Seen raters' parameters (R, K) for the report's map of raters; None where the
        family has none to show."""
        return None

    def log_prob(self, batch: Batch) -> torch.Tensor:
        """(B,) log P(observed outcome)."""
        return preference_log_prob(self.margin(batch), batch.strength, batch.tie,
                                   F.softplus(self.tie_threshold_raw), self.config.ties)

    def loss(self, batch: Batch) -> torch.Tensor:
        return -weighted_mean(self.log_prob(batch), batch.weight) + self.penalty()

    def penalty(self) -> torch.Tensor:
        return torch.zeros(())

    # --- hooks for the one training loop (all optional) -----------------------
    def prepare(self, data: PreferenceData, rows) -> None:
        """Before training: data-dependent initialisation (e.g. PCA directions)."""

    def epoch_order(self, data: PreferenceData, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The order in which an epoch visits the training rows (consecutive runs become
        minibatches): a fresh shuffle. A family whose step costs per rater in the batch
        (an encoder of each rater's context) groups rows by rater instead."""
        return rng.permutation(rows)

    def e_step(self, data: PreferenceData, rows) -> None:
        """At the start of every epoch: EM-style families update latent assignments."""

    def finalize(self, data: PreferenceData, rows) -> None:
        """After training: cache what inference needs (e.g. seen raters' latents)."""

    def diagnostics(self) -> dict:
        return {}


def gather_rater(table: torch.Tensor, rater: torch.Tensor, population: torch.Tensor) -> torch.Tensor:
    """(B, K) rows of a per-rater table; unknown raters (index < 0) get `population` (K,)."""
    rows = table[rater.clamp(min=0)]
    return torch.where((rater >= 0).unsqueeze(-1), rows, population.expand_as(rows))


class LinearRaterModel(PreferenceModel):
    """Families with margin d = offset + X theta_rater, theta real or on the simplex."""

    param_space: ClassVar[str] = "real"

    def __init__(self, config: ModelConfig, *, dim: int, raters: tuple[str, ...]):
        super().__init__(config, dim=dim, raters=raters)
        k = getattr(config, self.rank_option) if self.rank_option else 0
        # The population's parameters refitted on all comparisons pooled (see
        # training/calibrate.py); while the flag is False the family's default is used.
        self.register_buffer("fitted_population", torch.zeros(k))
        self.register_buffer("population_is_fitted", torch.tensor(False))

    def item_design(self, emb: torch.Tensor, prompt: torch.Tensor | None):
        """(offset (B,), X (B, K)) of single items; reward = offset + X theta."""
        raise NotImplementedError

    def theta(self, rater: torch.Tensor) -> torch.Tensor:
        """(B, K) rater parameters in the space where the margin is linear."""
        raise NotImplementedError

    def default_population_theta(self) -> torch.Tensor:
        """The family's own idea of the population (e.g. zero offsets, mean simplex weights)."""
        raise NotImplementedError

    def population_theta(self) -> torch.Tensor:
        """Parameters for an unknown rater, and the prior mean for a new one."""
        if bool(self.population_is_fitted):
            return self.fitted_population
        return self.default_population_theta()

    def reads_prompt(self) -> bool:
        """Whether item_design reads the prompt: where it does not, pair_design passes None
        and the batch's (B, D) prompt gather is never made."""
        return True

    def pair_design(self, batch: Batch):
        prompt = batch.prompt if self.reads_prompt() else None
        off_c, x_c = self.item_design(batch.chosen, prompt)
        off_r, x_r = self.item_design(batch.rejected, prompt)
        return off_c - off_r, x_c - x_r

    def margin(self, batch: Batch) -> torch.Tensor:
        offset, design = self.pair_design(batch)
        return offset + (design * self.theta(batch.rater)).sum(-1)

    def reward(self, raters, emb, prompt=None):
        offset, design = self.item_design(emb, prompt)
        return offset + (design * self.theta(raters)).sum(-1)

    def rater_parameters(self) -> list[list[float]] | None:
        if self.population_theta().numel() == 0:
            return None
        with torch.no_grad():
            return self.theta(torch.arange(self.n_raters)).numpy().round(5).tolist()

    def voter_margins(self, batch: Batch, voters: torch.Tensor) -> torch.Tensor:
        offset, design = self.pair_design(batch)                 # (B,), (B, K)
        return offset.unsqueeze(1) + design @ self.theta(voters).T

    def fit_theta(self, batch: Batch, prior_mean: torch.Tensor, precision: float):
        """theta (K,) as a numpy array: the convex solve for one rater of these comparisons."""
        with torch.no_grad():
            offset, design = self.pair_design(batch)
            return solve_linear_rater(
                offset.double().numpy(), design.double().numpy(), batch.tie.numpy(),
                batch.strength.double().numpy(), prior_mean.detach().double().numpy(),
                precision, self.param_space)

    def fit_profile(self, batch: Batch) -> RaterProfile:
        theta = self.fit_theta(batch, self.population_theta(), float(self.adapt_prior))
        return RaterProfile(self.family, {"theta": theta.tolist()}, len(batch))

    def fit_profiles(self, batch: Batch, k: int) -> list[RaterProfile]:
        """For real theta and the contract's own fit, one batched solve (solve_batched.py)."""
        own_fit = type(self).fit_profile is LinearRaterModel.fit_profile
        if self.param_space != "real" or not own_fit or k == 0 or not self.population_theta().numel():
            return super().fit_profiles(batch, k)
        with torch.no_grad():
            offset, design = self.pair_design(batch)
        runs = len(batch) // k
        thetas = solve_linear_raters(
            offset.double().numpy().reshape(runs, k), design.double().numpy().reshape(runs, k, -1),
            batch.tie.numpy().reshape(runs, k), batch.strength.double().numpy().reshape(runs, k),
            self.population_theta().detach().double().numpy(), float(self.adapt_prior))
        return [RaterProfile(self.family, {"theta": theta.tolist()}, k) for theta in thetas]

    def shrink(self, profile: RaterProfile, trust: float) -> RaterProfile:
        population = self.population_theta().detach().double().numpy()
        theta = population + trust * (np.asarray(profile.values["theta"]) - population)
        return dataclasses.replace(profile, values={**profile.values, "theta": theta.tolist()})

    def reward_adapted(self, profile: RaterProfile, emb, prompt=None) -> torch.Tensor:
        offset, design = self.item_design(emb, prompt)
        theta = torch.tensor(profile.values["theta"], dtype=design.dtype)
        return offset + design @ theta

    def adapted_margin(self, profile: RaterProfile, batch: Batch) -> torch.Tensor:
        """The pair margin itself (as `margin` scores seen raters), which for an
        intransitive family is not a difference of rewards."""
        with torch.no_grad():
            offset, design = self.pair_design(batch)
            return offset + design @ torch.tensor(profile.values["theta"], dtype=design.dtype)


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Eval mode without gradients inside the block, the model's own mode after it
    (scoring happens both inside the training loop and after it)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


MIN_CROSS_CHECK = 4   # comparisons needed to split into two halves worth comparing


def text_halves(batch: Batch) -> tuple[np.ndarray, np.ndarray] | None:
    """Two halves of the batch's rows sharing no text (texts known by their embeddings),
    or None where there are too few comparisons or texts to make two."""
    if len(batch) < MIN_CROSS_CHECK:
        return None
    _, ids = torch.unique(torch.cat([batch.chosen, batch.rejected]), dim=0, return_inverse=True)
    ids = ids.numpy()
    rows = np.arange(len(batch))
    first, second, _ = holdout(rows, np.zeros(len(batch), dtype=np.int64), ids[:len(batch)],
                               ids[len(batch):], 0.5, np.random.default_rng(len(batch)))
    return (first, second) if len(first) and len(second) else None


def _rows_of(batch: Batch, rows: np.ndarray) -> Batch:
    index = torch.from_numpy(rows)
    return Batch(batch.chosen[index], batch.rejected[index], batch.prompt_rows[index], batch.vectors,
                 batch.rater[index], batch.tie[index], batch.strength[index], batch.weight[index])


def margins(model: PreferenceModel, data: PreferenceData, rows) -> np.ndarray:
    """(n,) each row's margin for its own rater, in eval mode (the model's mode is kept)."""
    with evaluating(model):
        out = [model.margin(batch) for batch in data.batches(rows)]
    return torch.cat(out).numpy() if out else np.zeros(0)


def log_probs(model: PreferenceModel, data: PreferenceData, rows) -> np.ndarray:
    """(n,) log-probability of each row's recorded outcome, in eval mode, as float64."""
    with evaluating(model):
        out = [model.log_prob(batch) for batch in data.batches(rows)]
    return torch.cat(out).double().numpy()
