"""Evaluate trained models honestly on a seen/unseen split, and compare families.

Seen raters are scored on their held-out comparisons. Unseen raters were never
trained on: the k-shot curve adapts each of them on k comparisons drawn from
their pool (several random draws) and scores their disjoint test part; k = 0
is the population reward. Everything numeric comes from `metrics.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.split import Split
from ..data.table import ComparisonTable
from ..metrics import (TIE_RULE, bootstrap_over_raters, correct, log_loss, per_group_mean, summarize,
                       worst_fraction_mean)
from ..models import PreferenceData, PreferenceModel
from ..models.base import margins
from ..robust.reliability import rater_reliability
from ..training import NoiseSpec, TrainConfig, train

SHOTS = (0, 1, 2, 5, 10, 20, 50)


@dataclass(frozen=True)
class EvalConfig:
    shots: tuple[int, ...] = SHOTS
    draws: int = 3
    seed: int = 0
    reliability: bool = True   # the per-rater reliability flags (robust/), the slow part


@dataclass(eq=False)
class Benchmark:
    """A table, its embeddings as model input, a split and (optionally) the truth."""

    table: ComparisonTable
    data: PreferenceData            # rater vocabulary = the split's seen raters
    split: Split
    p_true: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    auto: dict | None = None   # the `--family auto` choice, where one was made


def evaluate_model(model: PreferenceModel, bench: Benchmark, config: EvalConfig = EvalConfig()) -> dict:
    table, split = bench.table, bench.split
    result = {"seen": _summary(model, bench, split.seen_test, config.seed),
              "unseen_kshot": kshot_curve(model, bench, config),
              "diagnostics": model.diagnostics(), "accuracy_rule": TIE_RULE}
    result["rater_profiles"] = model.rater_parameters()
    if not config.reliability:
        return result
    every_seen_row = np.concatenate([split.train, split.seen_test])
    result["reliability"] = rater_reliability(model, bench.data, table.rows_by_rater(every_seen_row),
                                              seed=config.seed, chosen_first=table.chosen_first)
    return result


def _summary(model, bench, rows, seed) -> dict:
    if len(rows) == 0:
        return {"note": "no comparisons in this part of the split"}
    t = bench.table
    p_true = bench.p_true[rows] if bench.p_true is not None else None
    return summarize(margins(model, bench.data, rows), t.tie[rows], t.rater[rows], t.group[rows],
                     p_true=p_true, seed=seed)


def kshot_curve(model: PreferenceModel, bench: Benchmark, config: EvalConfig) -> list[dict]:
    """Accuracy of unseen raters after adapting on k of their pool, for each k, and at
    each k > 0 the paired difference to k = 0 (the population) on the same raters."""
    table, split = bench.table, bench.split
    pools = table.rows_by_rater(split.unseen_pool)
    tests = table.rows_by_rater(split.unseen_test)
    curve = [_kshot_point(model, bench, pools, tests, k, config) for k in config.shots]
    population = next((hits for point, hits in curve if point["k"] == 0 and hits), None)
    for point, hits in curve:
        if point["k"] > 0 and hits and population:
            point["vs_population"] = _vs_population(hits, population, config.seed)
    return [point for point, _ in curve]


def _vs_population(hits: dict, population: dict, seed: int) -> dict:
    """Mean per-comparison gain of the adapted model over the population on the raters
    both scored, its 95% bootstrap interval over raters, and whether it is surely a loss."""
    common = [r for r in hits if r in population]
    gain = np.concatenate([hits[r] - population[r] for r in common])
    raters = np.concatenate([np.full(len(hits[r]), r, dtype=object) for r in common])
    low, high = bootstrap_over_raters(gain, raters.astype(str), seed=seed)
    return {"gain": float(gain.mean()), "gain_ci95": [low, high], "below_population": high < 0}


def _kshot_point(model, bench, pools, tests, k, config) -> tuple[dict, dict]:
    """(the point's summary, {rater: (n,) hits on their test rows, averaged over draws})."""
    rng = np.random.default_rng(config.seed + k)
    eligible = [r for r in tests if len(pools.get(r, ())) >= k and len(tests[r])]
    point = {"k": k, "raters": len(eligible), "raters_skipped": len(tests) - len(eligible)}
    if not eligible:
        point["note"] = f"no unseen rater has {k} comparisons in their adaptation pool"
        return point, {}
    draws = 1 if k == 0 else config.draws
    hits, margins_all = {}, []
    for rater in eligible:
        draw_hits, draw_margins = _rater_draws(model, bench, pools[rater], tests[rater], k, draws, rng)
        hits[rater] = np.mean(draw_hits, 0)
        margins_all.append(np.concatenate(draw_margins))
    point.update(_point_summary(bench, tests, hits, margins_all, draws, config.seed))
    return point, hits


def _rater_draws(model, bench, pool, test_rows, k, draws, rng) -> tuple[list, list]:
    """Hits and margins on one rater's test rows, for each draw of k adaptation rows."""
    test_batch, tie = bench.data.batch(test_rows), bench.table.tie[test_rows]
    draw_hits, draw_margins = [], []
    for _ in range(draws):
        if k == 0:
            margin = margins(model, bench.data, test_rows)
        else:
            profile = model.adapt(bench.data.batch(rng.choice(pool, k, replace=False)))
            margin = model.adapted_margin(profile, test_batch).numpy()
        draw_hits.append(correct(margin, tie))
        draw_margins.append(margin)
    return draw_hits, draw_margins


def _point_summary(bench, tests, hits: dict, margins_all: list, draws: int, seed: int) -> dict:
    table = bench.table
    rows = np.concatenate([tests[r] for r in hits])
    flat, raters, groups = np.concatenate(list(hits.values())), table.rater[rows], table.group[rows]
    low, high = bootstrap_over_raters(flat, raters, seed=seed)
    ties = np.concatenate([np.tile(table.tie[tests[r]], draws) for r in hits])
    point = {"accuracy": float(flat.mean()), "accuracy_ci95": [low, high], "draws": draws,
             "log_loss": log_loss(np.concatenate(margins_all), ties),
             "worst_10pct_raters": worst_fraction_mean(np.array([h.mean() for h in hits.values()]))}
    if np.any(groups != ""):
        point["per_group_accuracy"] = per_group_mean(flat, groups)
    if bench.p_true is not None:
        p = bench.p_true[rows]
        point["bayes_accuracy"] = float(np.maximum(p, 1 - p).mean())
    return point


def compare(bench: Benchmark, families: dict[str, dict], train_config: TrainConfig,
            eval_config: EvalConfig = EvalConfig(), on_done=None,
            noise: NoiseSpec = NoiseSpec()) -> dict:
    """Train each family on the same split and seeds (and label-noise strategy);
    evaluate them the same way."""
    results = {}
    for family, options in families.items():
        model, trained, prior = train(bench.data, bench.split.train, family, options=options,
                                      config=train_config, noise=noise)
        results[family] = {"options": options, "train": trained.summary(),
                           "adapt_prior": prior, **evaluate_model(model, bench, eval_config)}
        if on_done:
            on_done(family, results[family])
    return results
