"""Active elicitation on the built-in benchmark: how many questions each strategy needs.

    python bench/elicit.py [--encoder minilm] [--draws 3] [--raters 12] [--queries 30] [--epochs 15]

Per draw: a fresh split of the built-in benchmark (seed = draw) with 100 unseen
raters; `lowrank` and `ideal_point` trained on the seen raters' comparisons; each
prompt's responses halved into pool texts and test texts. For `--raters` unseen
raters of the draw, every strategy asks up to `--queries` questions from a pool of
random within-prompt pairs of pool texts, answered by the rater's true Bradley–Terry
utility (the benchmark's ground truth), and after each answer the rater's profile
(model.adapt on the answers so far) is scored on held-out pairs of test texts. The
accuracy is the rater's expected accuracy under the truth, the mean true probability
of the choice the profile predicts (sampled labels would add noise, not information).

labels_saved: on each draw's mean curves, the queries `random` needs to reach its own
accuracy at q = 20, divided by the queries the strategy needs for it. Latency: one
choice of the next question from a pool of 10,000 candidate pairs (the pool embedded
and its designs computed once before), median over repetitions; and the whole step
after an answer (adapt + posterior + choice). The machine is shared with other work:
timings are medians on 2 busy cores. Writes bench/results/elicit.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "elicit.json"
FAMILIES = {"lowrank": {"rank": 8}, "ideal_point": {"prototypes": 8}}
STRATEGIES = ("random", "uncertainty", "information", "diverse")
POOL_PAIRS, TEST_PAIRS, LATENCY_POOL = 2000, 1000, 10_000
TARGET_Q = 20


def within_prompt_pairs(bench, texts_by_prompt: list[np.ndarray], count: int, rng) -> np.ndarray:
    """(count, 2) distinct random pairs of text indices, both of one prompt."""
    pairs = set()
    while len(pairs) < count:
        group = texts_by_prompt[rng.integers(len(texts_by_prompt))]
        a, b = rng.choice(group, 2, replace=False)
        pairs.add((min(a, b), max(a, b)))
    return np.array(sorted(pairs))


def halve_texts(bench, rng) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each prompt's responses split in two: pool texts and test texts."""
    per = bench.config.responses_per_prompt
    pool, test = [], []
    for start in range(0, len(bench.texts), per):
        order = start + rng.permutation(per)
        pool.append(order[: per // 2])
        test.append(order[per // 2:])
    return pool, test


def prompt_of(bench) -> list[str]:
    per = bench.config.responses_per_prompt
    table = bench.table
    first = {text: prompt for text, prompt in zip(table.chosen, table.prompt)}
    first.update({text: prompt for text, prompt in zip(table.rejected, table.prompt)})
    return [first.get(t, "") for t in bench.texts] if per else []


def make_pool(bench, pairs: np.ndarray, prompts: list[str]):
    from pluralist.decide.pool import Pool

    return Pool([prompts[a] for a, _ in pairs], [bench.texts[a] for a, _ in pairs],
                [bench.texts[b] for _, b in pairs], [str(i) for i in range(len(pairs))])


def expected_accuracy(model, profile, test_candidates, true_p_a: np.ndarray) -> float:
    """Mean true probability of the choice the profile predicts on the test pairs."""
    from pluralist.decide.elicit import profile_margins

    margin = profile_margins(model, test_candidates, profile)
    return float(np.where(margin > 0, true_p_a, np.where(margin < 0, 1 - true_p_a, 0.5)).mean())


def run_rater(model, pool_c, test_c, bench, rater_index, pool_pairs, test_pairs, strategy, queries, seed):
    """One rater, one strategy: accuracy after q = 0..queries answers."""
    from pluralist.decide.elicit import Elicitation

    weights = bench.rater_weights[rater_index]
    utility = bench.attributes @ weights
    p_pool = 1 / (1 + np.exp(-(utility[pool_pairs[:, 0]] - utility[pool_pairs[:, 1]])))
    p_test = 1 / (1 + np.exp(-(utility[test_pairs[:, 0]] - utility[test_pairs[:, 1]])))
    rng = np.random.default_rng(seed)
    session = Elicitation(model, pool_c, strategy=strategy, seed=seed)
    curve = [expected_accuracy(model, session.belief.profile, test_c, p_test)]
    for _ in range(queries):
        (row,) = session.next()
        session.answer(row, "a" if rng.random() < p_pool[row] else "b")
        curve.append(expected_accuracy(model, session.belief.profile, test_c, p_test))
    return curve, float(np.maximum(p_test, 1 - p_test).mean())


def run_draw(bench, emb, cache, draw: int, args, models: dict) -> dict:
    import pluralist as pl
    from pluralist.decide.pool import embed_pool
    from pluralist.models import PreferenceData
    from pluralist.training import TrainConfig, train

    rng = np.random.default_rng(1000 + draw)
    split = pl.split_raters(bench.table, unseen=100, seed=draw)
    data = PreferenceData.from_table(bench.table, emb, raters=split.seen_raters)
    pool_texts, test_texts = halve_texts(bench, rng)
    prompts = prompt_of(bench)
    pool_pairs = within_prompt_pairs(bench, pool_texts, POOL_PAIRS, rng)
    test_pairs = within_prompt_pairs(bench, test_texts, TEST_PAIRS, rng)
    index = {r: i for i, r in enumerate(bench.rater_ids)}
    raters = [index[r] for r in rng.permutation(split.unseen_raters)[: args.raters]]
    out = {}
    for family, options in FAMILIES.items():
        started = time.perf_counter()
        model, _, _ = train(data, split.train, family, options=options,
                            config=TrainConfig(seed=draw, epochs=args.epochs, progress=False))
        trained_s = time.perf_counter() - started
        models.setdefault(family, model)   # the first draw's models are timed afterwards
        pool_c = embed_pool(make_pool(bench, pool_pairs, prompts), model, cache)
        test_c = embed_pool(make_pool(bench, test_pairs, prompts), model, cache)
        curves = {s: [] for s in STRATEGIES}
        bayes = []
        for r in raters:
            for s_i, strategy in enumerate(STRATEGIES):
                curve, b = run_rater(model, pool_c, test_c, bench, r, pool_pairs, test_pairs, strategy,
                                     args.queries, seed=draw * 100_000 + r * 10 + s_i)
                curves[strategy].append(curve)
            bayes.append(b)
        out[family] = {"curves": {s: np.mean(c, 0).tolist() for s, c in curves.items()},
                       "sim_s": round(time.perf_counter() - started - trained_s, 1),
                       "bayes_accuracy": float(np.mean(bayes)), "train_s": round(trained_s, 1)}
        print(f"draw {draw} {family}: " + ", ".join(
            f"{s} q10 {out[family]['curves'][s][10]:.3f} q20 {out[family]['curves'][s][20]:.3f}"
            for s in STRATEGIES), flush=True)
    return out


def queries_to_reach(curve, target: float) -> int | None:
    """The first q >= 1 whose accuracy reaches `target` (None: not within the curve)."""
    for q in range(1, len(curve)):
        if curve[q] >= target - 1e-12:
            return q
    return None


def summarise(draws: list[dict], queries: int) -> dict:
    summary = {}
    for family in FAMILIES:
        per_draw = [d[family]["curves"] for d in draws]
        mean_curves = {s: np.mean([c[s] for c in per_draw], 0) for s in STRATEGIES}
        target = float(mean_curves["random"][TARGET_Q])
        rows = {}
        for s in STRATEGIES:
            needs = [queries_to_reach(c[s], c["random"][TARGET_Q]) for c in per_draw]
            needs_random = [queries_to_reach(c["random"], c["random"][TARGET_Q]) for c in per_draw]
            saved = [nr / n for nr, n in zip(needs_random, needs) if n]
            diff = np.array([np.array(c[s]) - np.array(c["random"]) for c in per_draw])  # (draws, q+1)
            se = diff.std(0, ddof=1) / np.sqrt(len(per_draw)) if len(per_draw) > 1 else np.zeros(queries + 1)
            worst = int(np.argmin(diff.mean(0) + se))
            rows[s] = {"curve": [round(float(v), 4) for v in mean_curves[s]],
                       "queries_to_random_q20": queries_to_reach(mean_curves[s], target),
                       "queries_per_draw": needs,
                       "labels_saved": _spread(saved, len(needs)),
                       "below_random_beyond_se_at": [q for q in range(queries + 1)
                                                     if diff.mean(0)[q] < -se[q]],
                       "worst_gap_vs_random": {"q": worst, "gap": round(float(diff.mean(0)[worst]), 4),
                                               "se": round(float(se[worst]), 4)}}
        summary[family] = {"random_q20_accuracy": round(target, 4),
                           "bayes_accuracy": round(float(np.mean([d[family]["bayes_accuracy"]
                                                                  for d in draws])), 4),
                           "strategies": rows}
    return summary


def _spread(values: list[float], draws: int) -> dict:
    if not values:
        return {"mean": None, "se": None, "min": None, "max": None, "draws_reached": 0}
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None
    return {"mean": round(statistics.mean(values), 3), "se": None if se is None else round(se, 3),
            "min": round(min(values), 3), "max": round(max(values), 3), "draws_reached": len(values),
            "draws": draws}


def latency(bench, models: dict, cache, reps: int = 60) -> dict:
    """Median ms to choose the next question among 10,000 candidates, and for the whole
    step after an answer, for each family (the first draw's model) and the model-based
    strategies."""
    from pluralist.decide.elicit import Elicitation
    from pluralist.decide.pool import embed_pool

    rng = np.random.default_rng(7)
    per = bench.config.responses_per_prompt
    groups = [np.arange(s, s + per) for s in range(0, len(bench.texts), per)]
    pairs = within_prompt_pairs(bench, groups, LATENCY_POOL, rng)
    out = {}
    for family, model in models.items():
        started = time.perf_counter()
        candidates = embed_pool(make_pool(bench, pairs, prompt_of(bench)), model, cache)
        prepare_ms = 1000 * (time.perf_counter() - started)
        out[family] = {"pool": len(candidates), "prepare_ms": round(prepare_ms, 1)}
        for strategy in ("uncertainty", "information", "diverse"):
            session = Elicitation(model, candidates, strategy=strategy)
            for _ in range(10):
                session.answer(session.next()[0], "a" if rng.random() < 0.5 else "b")
            choose_ms, step_ms = [], []
            for _ in range(reps):
                started = time.perf_counter()
                (row,) = session.next()
                choose_ms.append(1000 * (time.perf_counter() - started))
                session._belief = None   # the belief after the answer is recomputed in a step
                started = time.perf_counter()
                session.belief
                session.next()
                step_ms.append(1000 * (time.perf_counter() - started))
            out[family][strategy] = {"choose_median_ms": round(statistics.median(choose_ms), 2),
                                     "step_median_ms": round(statistics.median(step_ms), 2)}
    return out


def targets(summary: dict, timing: dict) -> dict:
    result = {}
    for family, s in summary.items():
        model_based = {k: v for k, v in s["strategies"].items() if k != "random"}
        best = min(model_based, key=lambda k: model_based[k]["queries_to_random_q20"] or 99)
        need = model_based[best]["queries_to_random_q20"]
        result[family] = {"best_strategy": best, "best_queries_to_random_q20": need,
                          "best<=10_queries": need is not None and need <= 10,
                          "best_never_below_random_beyond_se":
                              not model_based[best]["below_random_beyond_se_at"],
                          "choose<=20ms_from_10000":
                              timing[family]["information"]["choose_median_ms"] <= 20}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--raters", type=int, default=12)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    import pluralist as pl
    from pluralist.fileio import write_json_atomic

    started = time.perf_counter()
    bench = pl.generate(pl.SynthConfig(seed=0))
    cache = pl.EmbeddingCache(pl.get_encoder(args.encoder))
    emb = pl.embed_table(bench.table, cache)
    models = {}
    draws = [run_draw(bench, emb, cache, draw, args, models) for draw in range(args.draws)]
    summary = summarise(draws, args.queries)
    timing = latency(bench, models, cache)
    result = {"benchmark": "built-in (pluralist data synth, seed 0)", "encoder": args.encoder,
              "encoder_id": cache.encoder.id, "draws": args.draws, "raters_per_draw": args.raters,
              "queries": args.queries, "epochs": args.epochs, "pool_pairs": POOL_PAIRS, "test_pairs": TEST_PAIRS,
              "families": summary, "latency": timing,
              "seconds_per_draw": [{f: {k: d[f][k] for k in ("train_s", "sim_s")} for f in FAMILIES}
                                   for d in draws], "targets": targets(summary, timing),
              "wall_s": round(time.perf_counter() - started, 1),
              "machine": "2 CPU cores shared with other work while timing",
              "command": "python bench/elicit.py " + " ".join(sys.argv[1:])}
    write_json_atomic(RESULTS, result)
    print(json.dumps({"targets": result["targets"], "latency": timing, "wall_s": result["wall_s"]},
                     indent=2))


if __name__ == "__main__":
    main()
