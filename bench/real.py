"""Every family against bt on real multi-rater data, with splits that cannot leak.

    python bench/real.py [--data ../shared/data] [--encoder minilm] [--seed 0]

Datasets (development copies beside the project, not part of pluralist; absent ones
are named and skipped):
- ukp-convincingness: real pairwise judgements with rater ids (Habernal & Gurevych,
  2016; CC-BY-4.0). Raters with at least 20 judgements, at most 100 each (seeded).
- wmt23-mqm-sxs zhen and ende: professional translators' per-rater MQM scores (Freitag
  et al., 2021; Apache-2.0), pairs within a rater and a source segment.

For each: `compare`'s split (a quarter of the raters unseen; seen raters' held-out
comparisons share no text with their training ones), every family and the `auto`
choice (made on the seen raters' training rows alone), k in {0, 5, 20}. Recorded per
family: seen and unseen accuracy with 95% intervals over raters, each k's paired gain
over k = 0 with its interval, and the difference to bt in per-rater mean accuracy with
a paired bootstrap interval. Targets: no family's k-shot accuracy below its own k = 0
beyond its interval; the auto choice within 0.5 points of the best family and never
more than 0.5 below bt (scored as auto scores: the mean of seen and unseen k = 20
accuracy). Writes bench/results/real.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "real.json"
SHOTS = (0, 5, 20)
UKP_MIN, UKP_MAX = 20, 100


def datasets(root: Path) -> dict:
    """name -> (path, kind) of the development sets found."""
    found = {"ukp-convincingness": (root / "ukp-convincingness" / "comparisons.jsonl.gz", "comparisons"),
             "wmt23-zhen": (root / "wmt23-mqm-sxs" / "zhen.ratings.jsonl.gz", "ratings"),
             "wmt23-ende": (root / "wmt23-mqm-sxs" / "ende.ratings.jsonl.gz", "ratings")}
    for name, (path, _) in list(found.items()):
        if not path.is_file():
            print(f"{name}: {path} not found, skipped")
            del found[name]
    return found


def load(path: Path, kind: str, seed: int):
    from pluralist.data import read_comparisons, read_ratings

    table = read_comparisons(path) if kind == "comparisons" else read_ratings(path)
    if kind != "comparisons":
        return table
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(rows)[:UKP_MAX] for rows in table.rows_by_rater().values()
            if len(rows) >= UKP_MIN]
    return table.take(np.sort(np.concatenate(keep)))


def run(table, encoder: str, seed: int):
    from pluralist.data import split_raters
    from pluralist.encode import EmbedSpec, embed
    from pluralist.evaluation.choose import choose_family
    from pluralist.evaluation.protocol import EvalConfig, compare
    from pluralist.training import TrainConfig
    from pluralist.workflows import make_benchmark, personalised_families

    families = ["bt", *personalised_families()]
    split = split_raters(table, unseen=0.25, seed=seed)
    bench = make_benchmark(table, split, EmbedSpec(encoder), progress=False)
    config = TrainConfig(seed=seed)
    training = table.take(split.train)
    choice = choose_family(training, embed(training, EmbedSpec(encoder)), families, config, seed=seed)
    results = compare(bench, {f: {} for f in families}, config,
                      EvalConfig(shots=SHOTS, seed=seed, reliability=False),
                      on_done=lambda f, r: print(f"  {f}: seen {r['seen'].get('accuracy')}", flush=True))
    return split, results, choice


def family_row(result: dict, bt: dict, seed: int) -> dict:
    from pluralist.evaluation.report import kshot_at

    row = {"seen": result["seen"].get("accuracy"), "seen_ci95": result["seen"].get("accuracy_ci95"),
           "seen_minus_bt": paired_difference(result["seen"], bt["seen"], seed)}
    for point in result["unseen_kshot"]:
        k = point["k"]
        row[f"k{k}"], row[f"k{k}_ci95"] = point.get("accuracy"), point.get("accuracy_ci95")
        if "vs_population" in point:
            row[f"k{k}_gain_over_k0"] = point["vs_population"]
    row["score"] = (row["seen"] + kshot_at(result, SHOTS[-1])) / 2
    return row


def paired_difference(seen: dict, bt_seen: dict, seed: int, resamples: int = 2000) -> dict:
    """Mean over raters of (this family's - bt's) per-rater accuracy, with a 95% bootstrap
    interval over raters (both scored on the same comparisons, raters in the same order)."""
    a = np.array(seen["per_rater_accuracy"]["values"])
    b = np.array(bt_seen["per_rater_accuracy"]["values"])
    difference = a - b
    rng = np.random.default_rng(seed)
    means = difference[rng.integers(len(difference), size=(resamples, len(difference)))].mean(1)
    return {"difference": float(difference.mean()),
            "ci95": [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]}


def targets(rows: dict, choice: dict) -> dict:
    below = sorted(f"{family} k={k}" for family, row in rows.items() for k in SHOTS[1:]
                   if row.get(f"k{k}_gain_over_k0", {}).get("below_population"))
    best = max(rows, key=lambda f: rows[f]["score"])
    auto = rows[choice["chosen"]]["score"]
    return {"points_below_k0": below, "no_point_below_k0": not below,
            "auto": choice["chosen"], "best": best,
            "auto_minus_best": auto - rows[best]["score"], "auto_minus_bt": auto - rows["bt"]["score"],
            "auto_within_half_a_point_of_best": auto >= rows[best]["score"] - 0.005,
            "auto_not_half_a_point_below_bt": auto >= rows["bt"]["score"] - 0.005}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from pluralist.fileio import write_json_atomic

    out = {"encoder": args.encoder, "seed": args.seed, "shots": list(SHOTS),
           "machine": platform.processor() or platform.machine(), "datasets": {}}
    for name, (path, kind) in datasets(Path(args.data)).items():
        started = time.perf_counter()
        table = load(path, kind, args.seed)
        print(f"{name}: {len(table)} comparisons, {len(table.raters)} raters", flush=True)
        split, results, choice = run(table, args.encoder, args.seed)
        rows = {family: family_row(result, results["bt"], args.seed) for family, result in results.items()}
        out["datasets"][name] = {"comparisons": len(table), "raters": len(table.raters),
                                 "split": split.summary(), "auto": choice, "families": rows,
                                 "targets": targets(rows, choice),
                                 "seconds": time.perf_counter() - started}
        print(json.dumps(out["datasets"][name]["targets"]), flush=True)
    write_json_atomic(RESULTS, out)


if __name__ == "__main__":
    main()
