"""Pure metric functions. Inputs are numpy arrays; nothing here trains or reads files.

Conventions: `margin` (N,) is the model's score(chosen) - score(rejected) and
p = sigmoid(margin) its probability that the recorded chosen response is
preferred. A comparison labelled as a tie counts one half whatever the model
says, and a non-tie with margin exactly 0 counts one half too.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, log_expit

TIE_RULE = ("accuracy counts a comparison labelled as a tie as one half whatever the model "
            "predicts, and a prediction of exactly equal scores as one half")


def correct(margin: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """(N,) 1, 0 or 0.5 per comparison."""
    won = np.where(margin > 0, 1.0, np.where(margin == 0, 0.5, 0.0))
    return np.where(tie, 0.5, won)


Z90 = 1.645  # two-sided 90% normal quantile


def wilson_interval(successes: float, n: int, z: float = Z90) -> tuple[float, float]:
    """90% (z = Z90) Wilson score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def log_loss(margin: np.ndarray, tie: np.ndarray) -> float:
    """Mean negative log-likelihood; ties scored against a target of one half."""
    target = np.where(tie, 0.5, 1.0)
    return float(-(target * log_expit(margin) + (1 - target) * log_expit(-margin)).mean())


def brier(margin: np.ndarray, tie: np.ndarray) -> float:
    return float(((expit(margin) - np.where(tie, 0.5, 1.0)) ** 2).mean())


def calibration(margin: np.ndarray, tie: np.ndarray, bins: int = 10) -> dict:
    """Calibration of the predicted side: confidence max(p, 1 - p) against how often
    that side was chosen, in equal-width bins over [0.5, 1]; ECE is their weighted gap."""
    p = expit(margin)
    confidence = np.maximum(p, 1 - p)
    hit = correct(np.where(p >= 0.5, 1.0, -1.0), tie)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            gap = abs(confidence[mask].mean() - hit[mask].mean())
            ece += mask.mean() * gap
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                         "confidence": float(confidence[mask].mean()), "accuracy": float(hit[mask].mean())})
    return {"ece": float(ece), "bins": rows}


def per_group_mean(values: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    return {str(g): float(values[groups == g].mean()) for g in np.unique(groups)}


def worst_fraction_mean(per_rater: np.ndarray, fraction: float = 0.1) -> float:
    """Mean over the worst `fraction` of raters (at least one)."""
    n = max(1, int(np.ceil(fraction * len(per_rater))))
    return float(np.sort(per_rater)[:n].mean())


def bootstrap_over_raters(values: np.ndarray, raters: np.ndarray, *, resamples: int = 1000,
                          seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Interval for the mean of `values` when whole raters are resampled with replacement."""
    unique, inverse = np.unique(raters, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(unique))
    counts = np.bincount(inverse, minlength=len(unique)).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(unique), size=(resamples, len(unique)))
    means = sums[picks].sum(1) / counts[picks].sum(1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def summarize(margin: np.ndarray, tie: np.ndarray, raters: np.ndarray, groups: np.ndarray | None = None,
              *, p_true: np.ndarray | None = None, seed: int = 0) -> dict:
    """Every comparison-level metric of one evaluation set."""
    hits = correct(margin, tie)
    unique = np.unique(raters)
    per_rater = np.array([hits[raters == r].mean() for r in unique])
    low, high = bootstrap_over_raters(hits, raters, seed=seed)
    out = {"comparisons": int(len(margin)), "raters": int(len(unique)),
           "accuracy": float(hits.mean()), "accuracy_ci95": [low, high],
           "log_loss": log_loss(margin, tie), "brier": brier(margin, tie),
           "calibration": calibration(margin, tie),
           "per_rater_accuracy": {"mean": float(per_rater.mean()),
                                  "worst_10pct": worst_fraction_mean(per_rater),
                                  "quantiles": {q: float(np.quantile(per_rater, float(q)))
                                                for q in ("0.1", "0.25", "0.5", "0.75", "0.9")},
                                  "values": per_rater.round(4).tolist()}}
    if groups is not None and np.any(groups != ""):
        by_group = per_group_mean(hits, groups)
        out["per_group_accuracy"] = by_group
        out["worst_group"] = min(by_group, key=by_group.get)
    if p_true is not None:
        bayes = float(np.maximum(p_true, 1 - p_true).mean())
        out["bayes_accuracy"] = bayes
        out["gap_to_bayes"] = bayes - out["accuracy"]
        out["fraction_of_bayes"] = out["accuracy"] / bayes
    return out
