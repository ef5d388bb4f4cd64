"""Preference likelihoods as small named functions, in log-sigmoid form throughout.

Shapes: `margin` is (B,) = score(chosen) - score(rejected); `strength` (B,) >= 0;
`tie` (B,) bool; `threshold` a scalar tensor >= 0. Each returns (B,) log-probabilities
of the observed outcome.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bradley_terry(margin: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """log P(chosen > rejected) = log sigma(d - m): the margin m of Llama-2's reward
    loss (Touvron et al., 2023) asks a stronger preference for a larger gap."""
    return F.logsigmoid(margin - strength)


def rao_kupper(margin, strength, tie, threshold):
    """Rao & Kupper (1967): P(win) = sigma(d - t), P(tie) = sigma(d + t) - sigma(d - t)."""
    win = F.logsigmoid(margin - strength - threshold)
    upper, lower = F.logsigmoid(margin + threshold), F.logsigmoid(margin - threshold)
    draw = upper + _log1mexp(lower - upper)
    return torch.where(tie, draw, win)


def davidson(margin, strength, tie, threshold):
    """Davidson (1970): P(a>b) : P(tie) : P(b>a) = 1 : nu e^{-d/2} : e^{-d}, nu = e^t."""
    d = margin - torch.where(tie, torch.zeros_like(strength), strength)
    log_norm = torch.logsumexp(torch.stack([torch.zeros_like(d), threshold - d / 2, -d]), dim=0)
    return torch.where(tie, threshold - d / 2, torch.zeros_like(d)) - log_norm


TIE_MODELS = {"rao-kupper": rao_kupper, "davidson": davidson}


def preference_log_prob(margin, strength, tie, threshold, tie_model: str = "rao-kupper"):
    """Bradley–Terry where there are no ties (identical to `bradley_terry`), else the tie model."""
    if not bool(tie.any()):
        return bradley_terry(margin, strength)
    return TIE_MODELS[tie_model](margin, strength, tie, threshold)


def weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (values * weight).sum() / weight.sum()


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - e^x) for x < 0, stable at both ends (Maechler, 2012)."""
    x = x.clamp(max=-1e-12)
    return torch.where(x > -0.6931, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))
