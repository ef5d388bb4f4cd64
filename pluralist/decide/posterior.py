"""What a model believes about a new rater after their answers so far: the posterior
of the rater's parameters, from the adaptation's own solve.

For families whose rater parameters theta enter the margin linearly (d = offset +
X theta, LinearRaterModel) and whose adaptation is the rater solver of
models/solve.py, the posterior is the Laplace approximation at that solve's optimum
(MacKay, 1992): mean the MAP theta under the Gaussian prior of precision
`model.adapt_prior` centred on the population, covariance the inverse Hessian of the
negative log-posterior, X' diag(p(1-p)) X + adapt_prior I. On the simplex (LoRe,
PAL) the Hessian is restricted to the simplex's tangent space (directions summing to
zero); the covariance is singular along the normal (1, ..., 1), where the simplex
allows no movement. Ties count as half a win, as in the solver.

`variational` (VPL) adapts with an encoder that outputs a Gaussian q(z | answers)
itself, and its decoder is linear in z: that amortised Gaussian is its posterior.
`mixture` without a router has a discrete posterior over components (its
membership). Other families have no posterior over rater parameters the
elicitation could use (`criterion` says so): strategies then fall back to the
predicted probability nearest 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import expit

from ..models import LinearRaterModel, PreferenceModel
from ..models.base import RaterProfile
from ..models.data import Batch

LAPLACE, LAPLACE_SIMPLEX = "laplace", "laplace-simplex"
AMORTISED, MEMBERSHIP, NONE = "amortised-gaussian", "membership", "none"


@dataclass(frozen=True)
class Posterior:
    """mean (K,) and covariance (K, K) of the rater parameters (Gaussian criteria), or
    membership (M,) over mixture components; `criterion` names which applies."""

    criterion: str
    mean: np.ndarray
    covariance: np.ndarray
    membership: np.ndarray | None = None

    def spread(self) -> float:
        """The posterior's typical standard deviation: sqrt of the mean variance over
        the directions the parameters can move in (0 where there are none)."""
        if self.criterion == MEMBERSHIP:
            p = np.clip(self.membership, 1e-12, 1.0)
            return float(-(p * np.log(p)).sum())       # entropy of the membership, nats
        free = len(self.mean) - (1 if self.criterion == LAPLACE_SIMPLEX else 0)
        return float(np.sqrt(max(np.trace(self.covariance), 0.0) / free)) if free > 0 else 0.0


def criterion_of(model: PreferenceModel) -> str:
    """Which posterior `model`'s adaptation gives (see the module docstring)."""
    if getattr(model, "family", "") == "variational":
        return AMORTISED
    if getattr(model, "family", "") == "mixture" and not model.config.router:
        return MEMBERSHIP
    if isinstance(model, LinearRaterModel) and type(model).fit_profile is LinearRaterModel.fit_profile:
        return LAPLACE_SIMPLEX if model.param_space == "simplex" else LAPLACE
    if isinstance(model, LinearRaterModel) and getattr(model.config, "adapt_method", "") == "logistic":
        return LAPLACE_SIMPLEX if model.param_space == "simplex" else LAPLACE
    return NONE


def posterior(model: PreferenceModel, answers: Batch, fit: RaterProfile | None = None) -> Posterior:
    """The posterior after `answers`; `fit` is model.fit_profile(answers) where the
    caller has it already (the solve is then not repeated)."""
    criterion = criterion_of(model)
    fit = model.fit_profile(answers) if fit is None else fit
    if criterion in (LAPLACE, LAPLACE_SIMPLEX):
        mean = np.asarray(fit.values["theta"], dtype=np.float64)
        return Posterior(criterion, mean, laplace_covariance(model, answers, mean, criterion))
    if criterion == AMORTISED:
        mean = np.asarray(fit.values["theta"], dtype=np.float64)
        return Posterior(criterion, mean, np.diag(np.exp(np.asarray(fit.values["log_variance"]))))
    if criterion == MEMBERSHIP:
        empty = np.zeros(0)
        return Posterior(criterion, empty, np.zeros((0, 0)), np.asarray(fit.values["membership"]))
    return Posterior(NONE, np.zeros(0), np.zeros((0, 0)))


def laplace_covariance(model: LinearRaterModel, answers: Batch, mean: np.ndarray,
                       criterion: str) -> np.ndarray:
    """The inverse Hessian of the solver's objective at `mean` (the tangent space's on
    the simplex), with the solver's own prior precision and treatment of ties and
    margins (strength shifts the offset of a win, not of a tie)."""
    k = len(mean)
    precision = float(model.adapt_prior) * np.eye(k)
    if len(answers):
        with torch.no_grad():
            offset, design = (t.double().numpy() for t in model.pair_design(answers))
        tie = answers.tie.numpy()
        shifted = offset - np.where(tie, 0.0, answers.strength.double().numpy())
        p = expit(shifted + design @ mean)
        precision = precision + design.T @ (design * (p * (1 - p))[:, None])
    if criterion == LAPLACE:
        return np.linalg.inv(precision)
    basis = tangent_basis(k)                                         # (K, K-1)
    return basis @ np.linalg.inv(basis.T @ precision @ basis) @ basis.T


def tangent_basis(k: int) -> np.ndarray:
    """(K, K-1) orthonormal columns spanning {u : sum(u) = 0}, the simplex's tangent space."""
    if k < 2:
        return np.zeros((k, 0))
    centred = np.eye(k) - 1.0 / k
    q, _ = np.linalg.qr(centred[:, : k - 1])
    return q
