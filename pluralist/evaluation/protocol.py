"""Evaluate trained models honestly on a seen/unseen split, and compare families.

Seen raters are scored on their held-out comparisons. Unseen raters were never
trained on: the k-shot curve adapts each of them on k comparisons drawn from
their pool (several random draws) and scores their disjoint test part; k = 0
is the population reward. Everything numeric comes from `metrics.py`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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


@dataclass(eq=False)
class Benchmark:
    """A table, its embeddings as model input, a split and (optionally) the truth."""

    table: ComparisonTable
    data: PreferenceData            # rater vocabulary = the split's seen raters
    split: Split
    p_true: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def evaluate_model(model: PreferenceModel, bench: Benchmark, config: EvalConfig = EvalConfig()) -> dict:
    table, split = bench.table, bench.split
    result = {"seen": _summary(model, bench, split.seen_test, config.seed),
              "unseen_kshot": kshot_curve(model, bench, config),
              "diagnostics": model.diagnostics(), "accuracy_rule": TIE_RULE}
    result["rater_profiles"] = model.rater_parameters()
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
    """Accuracy of unseen raters after adapting on k of their pool, for each k."""
    table, split = bench.table, bench.split
    pools = table.rows_by_rater(split.unseen_pool)
    tests = table.rows_by_rater(split.unseen_test)
    return [_kshot_point(model, bench, pools, tests, k, config) for k in config.shots]


def _kshot_point(model, bench, pools, tests, k, config) -> dict:
    rng = np.random.default_rng(config.seed + k)
    eligible = [r for r in tests if len(pools.get(r, ())) >= k and len(tests[r])]
    point = {"k": k, "raters": len(eligible), "raters_skipped": len(tests) - len(eligible)}
    if not eligible:
        point["note"] = f"no unseen rater has {k} comparisons in their adaptation pool"
        return point
    draws = 1 if k == 0 else config.draws
    hits, margins_all, ties, raters, groups, truth = [], [], [], [], [], []
    for rater in eligible:
        test_rows = tests[rater]
        test_batch = bench.data.batch(test_rows)
        rater_hits, rater_margins = [], []
        for _ in range(draws):
            if k == 0:
                margin = margins(model, bench.data, test_rows)
            else:
                profile = model.adapt(bench.data.batch(rng.choice(pools[rater], k, replace=False)))
                margin = model.adapted_margin(profile, test_batch).numpy()
            rater_hits.append(correct(margin, bench.table.tie[test_rows]))
            rater_margins.append(margin)
        hits.append(np.mean(rater_hits, 0))
        margins_all.append(np.concatenate(rater_margins))
        ties.append(np.tile(bench.table.tie[test_rows], draws))
        raters.append(bench.table.rater[test_rows])
        groups.append(bench.table.group[test_rows])
        if bench.p_true is not None:
            truth.append(bench.p_true[test_rows])
    hits, raters, groups = np.concatenate(hits), np.concatenate(raters), np.concatenate(groups)
    low, high = bootstrap_over_raters(hits, raters, seed=config.seed)
    point.update({"accuracy": float(hits.mean()), "accuracy_ci95": [low, high],
                  "draws": draws, "log_loss": log_loss(np.concatenate(margins_all), np.concatenate(ties))})
    per_rater = np.array([hits[raters == r].mean() for r in np.unique(raters)])
    point["worst_10pct_raters"] = worst_fraction_mean(per_rater)
    if np.any(groups != ""):
        point["per_group_accuracy"] = per_group_mean(hits, groups)
    if truth:
        p = np.concatenate(truth)
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
        results[family] = {"options": options, "train": {k: v for k, v in asdict(trained).items()
                                                         if k != "history"},
                           "adapt_prior": prior, **evaluate_model(model, bench, eval_config)}
        if on_done:
            on_done(family, results[family])
    return results
