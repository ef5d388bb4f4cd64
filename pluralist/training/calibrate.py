"""Calibration after training: the population refit, the new-rater prior and how far
to trust a new rater's fit after k comparisons.

All are chosen on comparisons of the seen raters that the model was not trained
on where there are any (the validation rows), sharing no text with the
comparisons adapted on, with every shared part of the model frozen.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtr, stdtrit

from ..data.holdout import disjoint_from
from ..metrics import correct
from ..models import LinearRaterModel

PRIOR_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
POPULATION_SAMPLE = 50_000
TRUST_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
TRUST_SHOTS = (1, 2, 5, 10, 20, 50)
# The best of TRUST_GRID is picked before it is tested, for every k, so a gain of one
# standard error turns up by chance too often: on the real sets (bench/real.py) such
# trusts cost new raters accuracy. Two standard errors are asked for, as Student's t
# counts them: with few raters (wmt23-ende has 8) the standard error is itself uncertain,
# and a gain of two of them there still cost new raters accuracy.
SURE_GAIN_SE = 2.0


def fit_population(model, data, rows, *, seed: int = 0) -> dict:
    """Refit the population's rater parameters on comparisons pooled over raters, shared
    parts frozen: the best single rater the family can express. It replaces the family's
    default population only if it predicts held-back pooled comparisons better. A no-op
    for families whose raters do not enter linearly."""
    if not isinstance(model, LinearRaterModel) or model.fitted_population.numel() == 0:
        return {}
    rng = np.random.default_rng(seed)
    rows = rng.permutation(np.asarray(rows))[:POPULATION_SAMPLE]
    fit_rows, check_rows = rows[len(rows) // 5:], rows[: len(rows) // 5]
    default = model.default_population_theta().detach()
    refit = model.fit_theta(data.batch(fit_rows), default, 1e-3)
    with torch.no_grad():
        check = data.batch(check_rows)
        offset, design = (t.double().numpy() for t in model.pair_design(check))
    score = lambda theta: float(correct(offset + design @ theta, check.tie.numpy()).mean())
    scores = {"default": score(default.double().numpy()), "refit": score(refit)}
    if scores["refit"] > scores["default"]:
        model.fitted_population.copy_(torch.from_numpy(refit).float())
        model.population_is_fitted.fill_(True)
    return scores


def seen_as_new(data, train_rows, test_rows, *, shots=(5, 20), max_raters: int = 100,
                seed: int = 0) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Seen raters playing new ones: (k, the k rows adapted on, test rows) per trial. The k
    come from a rater's training rows; the test rows are their `test_rows` (rows not
    trained on, where there are any) that share no text with those k."""
    rng = np.random.default_rng(seed)
    train_by, test_by = data.rows_by_rater(train_rows), data.rows_by_rater(test_rows)
    raters = [key for key in train_by if key >= 0 and len(train_by[key]) > min(shots)
              and len(test_by.get(key, ()))]
    trials = []
    for key in [raters[i] for i in rng.permutation(len(raters))[:max_raters]]:
        for k in (k for k in shots if k < len(train_by[key])):
            adapted = rng.choice(train_by[key], k, replace=False)
            test = disjoint_from(np.setdiff1d(test_by[key], adapted), adapted,
                                 data.chosen.numpy(), data.rejected.numpy())
            if len(test):
                trials.append((k, adapted, test))
    return trials


def choose_adapt_prior(model, data, trials, *, grid=PRIOR_GRID) -> dict:
    """Pick the new-rater prior precision that predicts the trials' test rows best.

    Accuracy, not log-likelihood, which a few overconfident misses dominate when a
    handful of comparisons is separable. A large precision means 'stay with the
    population': the largest precision whose accuracy is within one standard error
    (paired over trials) of the best is chosen, so a weaker prior must earn its place.
    """
    accuracy = {}
    for precision in grid:
        model.adapt_prior.fill_(precision)
        accuracy[precision] = np.array([_hits(model, data, profile, test).mean()
                                        for profile, (_, _, test) in zip(_fits(model, data, trials), trials)])
    scores = {p: float(a.mean()) if len(a) else 0.0 for p, a in accuracy.items()}
    best = max(scores, key=lambda p: (scores[p], p))
    chosen = max(p for p in grid if p >= best and _within_one_error(accuracy[best], accuracy[p]))
    model.adapt_prior.fill_(chosen)
    return {"chosen": chosen, "accuracy_by_precision": scores}


def _within_one_error(best: np.ndarray, other: np.ndarray) -> bool:
    """Whether `other` falls short of `best` by at most one standard error (paired)."""
    if len(best) < 2:
        return bool(np.array_equal(best, other))
    deficit = best - other
    return deficit.mean() <= _standard_error(deficit)


def choose_trust(model, data, trials, *, grid=TRUST_GRID) -> dict:
    """For each k of the trials, how far to move a new rater from the population: the
    trust in `grid` with the best test accuracy, unless it beats the population
    (trust 0) by less than sure_gain_errors standard errors of the paired difference
    over trials, where the population is kept: personalisation is trusted only as far
    as the data support it."""
    model.trust_shots, model.trust = torch.zeros(0, dtype=torch.long), torch.zeros(0)
    chosen = {}
    for k in sorted({k for k, _, _ in trials}):
        accuracy = _accuracy_by_trust(model, data, [t for t in trials if t[0] == k], grid)
        best = max(grid, key=lambda t: (accuracy[t].mean(), -t))
        chosen[k] = best if sure_gain(accuracy[best] - accuracy[0.0]) else 0.0
    model.trust_shots = torch.tensor(sorted(chosen), dtype=torch.long)
    model.trust = torch.tensor([chosen[k] for k in sorted(chosen)], dtype=torch.float32)
    return {"chosen": {str(k): t for k, t in chosen.items()}}


def sure_gain(gain: np.ndarray) -> bool:
    """Whether paired gains (one per trial) are above zero at the confidence that
    SURE_GAIN_SE standard errors give a normal mean (97.7%, one-sided), by Student's t
    with len(gain) - 1 degrees of freedom: 2.03 errors over 100 trials, 2.43 over 8."""
    return len(gain) > 1 and gain.mean() > sure_gain_errors(len(gain)) * _standard_error(gain)


def sure_gain_errors(trials: int) -> float:
    """How many standard errors a gain over `trials` paired trials must clear."""
    return float(stdtrit(trials - 1, ndtr(SURE_GAIN_SE)))   # scipy.special: scipy.stats is slow to import


def _standard_error(paired: np.ndarray) -> float:
    """The standard error of the mean of paired differences (one per trial)."""
    return paired.std(ddof=1) / np.sqrt(len(paired))


def _accuracy_by_trust(model, data, trials, grid) -> dict[float, np.ndarray]:
    """(trials,) test accuracy at each trust, the family's fit made once per trial."""
    out = {t: [] for t in grid}
    for profile, (_, _, test) in zip(_fits(model, data, trials), trials):
        batch = data.batch(test)
        for t in grid:
            margin = model.adapted_margin(model.shrink(profile, t), batch).numpy()
            out[t].append(correct(margin, batch.tie.numpy()).mean())
    return {t: np.array(v) for t, v in out.items()}


def _fits(model, data, trials) -> list:
    """The family's fit of each trial's adapted rows, trials of one k solved together."""
    profiles = [None] * len(trials)
    for k in sorted({k for k, _, _ in trials}):
        which = [i for i, (shots, _, _) in enumerate(trials) if shots == k]
        rows = np.concatenate([trials[i][1] for i in which])
        fitted = (model.fit_profiles(data.batch(rows), k) if k else
                  [model.fit_profile(data.batch(rows))] * len(which))   # no comparison: one fit
        for i, profile in zip(which, fitted):
            profiles[i] = profile
    return profiles


def _hits(model, data, profile, test) -> np.ndarray:
    """The family's own fit scored on the test rows (the trust is chosen after the prior)."""
    batch = data.batch(test)
    return correct(model.adapted_margin(profile, batch).numpy(), batch.tie.numpy())
