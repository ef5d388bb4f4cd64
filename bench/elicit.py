"""Active elicitation on simulated new raters: how many questions each strategy needs.

    python bench/elicit.py [--benchmark builtin|persona] [--persona DIR] [--encoder minilm]
                           [--draws 3] [--raters 8] [--queries 30] [--epochs 15]

Two benchmarks whose raters' true preferences are known:

- builtin: the built-in benchmark (pluralist data synth, seed 0); a rater prefers a
  response by Bradley-Terry from their true utility (attributes x weights). Texts are
  paired within a prompt.
- persona: the PAL-style persona benchmark (pluralist/data/persona.py) built from
  `--persona DIR` (Perez et al., 2022, model-written persona statements); a rater's
  utility for a statement is +1 for each of their behaviours it expresses and -1 for
  each it contradicts, and of two statements they always prefer the higher one (and
  answer "tie" where the two are equal). Statements are paired across behaviours, so
  most random pairs say nothing about a given rater: accuracy is measured on the
  held-out pairs where the rater is not indifferent.

Per draw: a fresh split (seed = draw) with a fixed number of unseen raters; `lowrank`
and `ideal_point` trained on the seen raters' comparisons; the texts halved (per prompt,
or per behaviour) into pool texts and test texts. For `--raters` unseen raters of the
draw, every strategy asks up to `--queries` questions from a pool of random pairs of
pool texts, answered from the rater's truth, and after each answer the rater's profile
(model.adapt on the answers so far) is scored on held-out pairs of test texts. The
accuracy is the rater's expected accuracy under the truth, the mean true probability of
the choice the profile predicts (sampled labels would add noise, not information).

labels_saved: on each draw's mean curves, the queries `random` needs to reach its own
accuracy at q = 20, divided by the queries the strategy needs for it. Latency: one
choice of the next question from a pool of 10,000 candidate pairs (the pool embedded
and its designs computed once before), median over repetitions; and the whole step
after an answer (adapt + posterior + choice); the load average during the run is
recorded beside them. Writes bench/results/elicit.json (elicit_persona.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = {"builtin": ROOT / "bench" / "results" / "elicit.json",
           "persona": ROOT / "bench" / "results" / "elicit_persona.json"}
PERSONA_DATA = ROOT.parent / "shared" / "data" / "persona"
FAMILIES = {"lowrank": {"rank": 8}, "ideal_point": {"prototypes": 8}}
STRATEGIES = ("random", "uncertainty", "information", "diverse")
POOL_PAIRS, LATENCY_POOL = 2000, 10_000
TEST_PAIRS = {"builtin": 1000, "persona": 4000}   # persona: about a quarter tell a rater's taste
UNSEEN = {"builtin": 100, "persona": 60}
TARGET_Q = 20


@dataclass
class World:
    """A benchmark with known preferences: its comparisons, texts and each rater's truth."""
    name: str
    table: object                 # ComparisonTable of every rater's comparisons
    texts: list[str]
    prompts: list[str]            # the prompt each text answers
    strata: list[np.ndarray]      # text indices halved into pool and test texts one by one
    pair_within_stratum: bool     # pairs within one stratum (a prompt) or across all
    rater_ids: list[str]
    utility: np.ndarray           # (raters, texts) true utilities
    deterministic: bool           # the higher utility always wins (else Bradley-Terry)

    def p_first(self, rater: int, pairs: np.ndarray) -> np.ndarray:
        """The true probability that `rater` prefers each pair's first text."""
        diff = self.utility[rater, pairs[:, 0]] - self.utility[rater, pairs[:, 1]]
        if self.deterministic:
            return np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5))
        return 1 / (1 + np.exp(-diff))


def builtin_world() -> World:
    import pluralist as pl

    bench = pl.generate(pl.SynthConfig(seed=0))
    per = bench.config.responses_per_prompt
    table = bench.table
    first = {text: prompt for text, prompt in zip(table.chosen, table.prompt)}
    first.update({text: prompt for text, prompt in zip(table.rejected, table.prompt)})
    return World("builtin", table, list(bench.texts), [first.get(t, "") for t in bench.texts],
                 [np.arange(s, s + per) for s in range(0, len(bench.texts), per)], True,
                 list(bench.rater_ids), bench.rater_weights @ bench.attributes.T.astype(float), False)


def persona_world(src: Path, config=None) -> World:
    from pluralist.data.persona import PROMPT, PersonaConfig, persona_benchmark, read_behaviours

    config = config or PersonaConfig()
    table = persona_benchmark(src, config)
    texts = sorted(set(table.chosen.tolist()) | set(table.rejected.tolist()))
    index = {text: i for i, text in enumerate(texts)}
    behaviours = read_behaviours(src, config.behaviours)
    names = sorted(behaviours)
    signs = np.zeros((len(texts), len(names)))      # +1 / -1: the statement expresses / contradicts
    for b, name in enumerate(names):
        for statement, sign in behaviours[name]:
            if statement in index:
                signs[index[statement], b] = sign
    raters = sorted(set(table.rater.tolist()))
    traits_of = dict(zip(table.rater.tolist(), table.group.tolist()))
    holds = np.array([[name in traits_of[r].split("+") for name in names] for r in raters], float)
    first_file = np.argmax(signs != 0, axis=1)     # a statement in two files: halved with the first
    strata = [np.flatnonzero(first_file == b) for b in range(len(names))]
    return World("persona", table, texts, [PROMPT] * len(texts), strata, False, raters,
                 holds @ signs.T, True)


def halve_texts(world: World, rng) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each stratum's texts split in two: pool texts and test texts, as pairing groups."""
    pool, test = [], []
    for stratum in world.strata:
        order = rng.permutation(stratum)
        pool.append(order[: len(order) // 2])
        test.append(order[len(order) // 2:])
    if not world.pair_within_stratum:
        pool, test = [np.concatenate(pool)], [np.concatenate(test)]
    return pool, test


def random_pairs(groups: list[np.ndarray], count: int, rng) -> np.ndarray:
    """(count, 2) distinct random pairs of text indices, both of one group."""
    possible = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    if count > possible:
        raise ValueError(f"{count} distinct pairs asked for, but the texts make only {possible}")
    pairs = set()
    while len(pairs) < count:
        group = groups[rng.integers(len(groups))]
        a, b = rng.choice(group, 2, replace=False)
        pairs.add((min(a, b), max(a, b)))
    return np.array(sorted(pairs))


def make_pool(world: World, pairs: np.ndarray):
    from pluralist.decide.pool import Pool

    return Pool([world.prompts[a] for a, _ in pairs], [world.texts[a] for a, _ in pairs],
                [world.texts[b] for _, b in pairs], [str(i) for i in range(len(pairs))])


def expected_accuracy(model, profile, test_candidates, true_p_a: np.ndarray, scored: np.ndarray) -> float:
    """Mean true probability of the choice the profile predicts on the `scored` test pairs."""
    from pluralist.decide.elicit import profile_margins

    margin = profile_margins(model, test_candidates, profile)
    right = np.where(margin > 0, true_p_a, np.where(margin < 0, 1 - true_p_a, 0.5))
    return float(right[scored].mean())


def run_rater(model, pool_c, test_c, world: World, rater: int, pool_pairs, test_pairs, strategy,
              queries, seed):
    """One rater, one strategy: accuracy after q = 0..queries answers, and the Bayes accuracy."""
    from pluralist.decide.elicit import Elicitation

    p_pool, p_test = world.p_first(rater, pool_pairs), world.p_first(rater, test_pairs)
    scored = p_test != 0.5 if world.deterministic else np.ones(len(p_test), bool)
    rng = np.random.default_rng(seed)
    session = Elicitation(model, pool_c, strategy=strategy, seed=seed)
    curve = [expected_accuracy(model, session.belief.profile, test_c, p_test, scored)]
    for _ in range(queries):
        (row,) = session.next()
        tie = world.deterministic and p_pool[row] == 0.5   # an indifferent persona says so
        session.answer(row, "tie" if tie else "a" if rng.random() < p_pool[row] else "b")
        curve.append(expected_accuracy(model, session.belief.profile, test_c, p_test, scored))
    return curve, float(np.maximum(p_test, 1 - p_test)[scored].mean())


def run_draw(world: World, emb, cache, draw: int, args, models: dict) -> dict:
    import pluralist as pl
    from pluralist.decide.pool import embed_pool
    from pluralist.models import PreferenceData
    from pluralist.training import TrainConfig, train

    rng = np.random.default_rng(1000 + draw)
    split = pl.split_raters(world.table, unseen=UNSEEN[world.name], seed=draw)
    data = PreferenceData.from_table(world.table, emb, raters=split.seen_raters)
    pool_texts, test_texts = halve_texts(world, rng)
    pool_pairs = random_pairs(pool_texts, POOL_PAIRS, rng)
    test_pairs = random_pairs(test_texts, TEST_PAIRS[world.name], rng)
    index = {r: i for i, r in enumerate(world.rater_ids)}
    raters = [index[r] for r in rng.permutation(split.unseen_raters)[: args.raters]]
    out = {}
    for family, options in FAMILIES.items():
        started = time.perf_counter()
        model, _, _ = train(data, split.train, family, options=options,
                            config=TrainConfig(seed=draw, epochs=args.epochs, progress=False))
        trained_s = time.perf_counter() - started
        models.setdefault(family, model)   # the first draw's models are timed afterwards
        pool_c = embed_pool(make_pool(world, pool_pairs), model, cache)
        test_c = embed_pool(make_pool(world, test_pairs), model, cache)
        curves = {s: [] for s in STRATEGIES}
        bayes = []
        for r in raters:
            for s_i, strategy in enumerate(STRATEGIES):
                curve, b = run_rater(model, pool_c, test_c, world, r, pool_pairs, test_pairs, strategy,
                                     args.queries, seed=draw * 100_000 + r * 10 + s_i)
                curves[strategy].append(curve)
            bayes.append(b)
        out[family] = {"curves": {s: np.mean(c, 0).tolist() for s, c in curves.items()},
                       "sim_s": round(time.perf_counter() - started - trained_s, 1),
                       "bayes_accuracy": float(np.mean(bayes)), "train_s": round(trained_s, 1)}
        print(f"draw {draw} {family}: " + ", ".join(
            f"{s} q10 {out[family]['curves'][s][10]:.3f} q{args.queries} {out[family]['curves'][s][-1]:.3f}"
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
        gains = [c["random"][TARGET_Q] - c["random"][0] for c in per_draw]
        gain_se = float(np.std(gains, ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0
        summary[family] = {"random_q20_accuracy": round(target, 4),
                           "random_gain_by_q20": {"mean": round(float(np.mean(gains)), 4),
                                                  "se": round(gain_se, 4)},
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


def latency(world: World, models: dict, cache, reps: int = 60) -> dict:
    """Median ms to choose the next question among 10,000 candidates, and for the whole
    step after an answer, for each family (the first draw's model) and the model-based
    strategies."""
    from pluralist.decide.elicit import Elicitation
    from pluralist.decide.pool import embed_pool

    rng = np.random.default_rng(7)
    groups = world.strata if world.pair_within_stratum else [np.concatenate(world.strata)]
    pairs = random_pairs(groups, LATENCY_POOL, rng)
    out = {}
    for family, model in models.items():
        started = time.perf_counter()
        candidates = embed_pool(make_pool(world, pairs), model, cache)
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
        random_curve = np.array(s["strategies"]["random"]["curve"])

        def rank(k):   # fewest queries; a tie goes to the larger mean lead over random
            lead = float(np.mean(np.array(model_based[k]["curve"]) - random_curve))
            return (model_based[k]["queries_to_random_q20"] or 99, -lead)

        best = min(model_based, key=rank)
        need = model_based[best]["queries_to_random_q20"]
        # where random's answers teach nothing by q = 20, reaching its accuracy says nothing
        gain = s["random_gain_by_q20"]
        measurable = gain["mean"] > gain["se"]
        result[family] = {"best_strategy": best, "best_queries_to_random_q20": need,
                          "random_gains_by_q20": measurable,
                          "best<=10_queries": (need is not None and need <= 10) if measurable else None,
                          "best_never_below_random_beyond_se":
                              not model_based[best]["below_random_beyond_se_at"],
                          "choose<=20ms_from_10000":
                              timing[family]["information"]["choose_median_ms"] <= 20}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmark", choices=sorted(RESULTS), default="builtin")
    parser.add_argument("--persona", type=Path, default=PERSONA_DATA,
                        help="the persona statement files (for --benchmark persona)")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--raters", type=int, default=8)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    if args.queries < TARGET_Q:
        parser.error(f"--queries must be at least {TARGET_Q} (the targets compare at q = {TARGET_Q})")
    import pluralist as pl
    from pluralist.fileio import write_json_atomic

    started = time.perf_counter()
    try:
        world = builtin_world() if args.benchmark == "builtin" else persona_world(args.persona)
    except pl.PluralistError as err:   # a bad persona file: its one-line message, no traceback
        sys.exit(f"bench/elicit.py: {err}")
    cache = pl.EmbeddingCache(pl.get_encoder(args.encoder))
    emb = pl.embed_table(world.table, cache)
    models = {}
    draws = [run_draw(world, emb, cache, draw, args, models) for draw in range(args.draws)]
    summary = summarise(draws, args.queries)
    timing = latency(world, models, cache)
    described = {"builtin": "built-in (pluralist data synth, seed 0)",
                 "persona": "persona (PAL-style, pluralist data persona defaults)"}
    result = {"benchmark": described[world.name], "encoder": args.encoder,
              "encoder_id": cache.encoder.id, "draws": args.draws, "raters_per_draw": args.raters,
              "unseen_raters": UNSEEN[world.name], "queries": args.queries, "epochs": args.epochs,
              "pool_pairs": POOL_PAIRS, "test_pairs": TEST_PAIRS[world.name],
              "families": summary, "latency": timing,
              "trust": {family: {"shots": model.trust_shots.tolist(),
                                 "trust": [round(float(t), 3) for t in model.trust]}
                        for family, model in models.items()},
              "seconds_per_draw": [{f: {k: d[f][k] for k in ("train_s", "sim_s")} for f in FAMILIES}
                                   for d in draws], "targets": targets(summary, timing),
              "wall_s": round(time.perf_counter() - started, 1),
              "machine": f"{os.cpu_count()} CPU cores, load average "
                         f"{os.getloadavg()[0]:.1f} at the end of the run",
              "command": "python bench/elicit.py " + " ".join(sys.argv[1:])}
    write_json_atomic(RESULTS[world.name], result)
    print(json.dumps({"targets": result["targets"], "latency": timing, "wall_s": result["wall_s"]},
                     indent=2))


if __name__ == "__main__":
    main()
