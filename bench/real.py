"""Every family against bt on real multi-rater data, with splits that cannot leak,
under each text format.

    python bench/real.py [--data DIR (default: the nearest shared/data above)] [--encoder minilm] [--seed 0]
                         [--text-format response|prompt+response|both]
                         [--datasets NAME,...] [--families bt,lowrank,...]
                         [--max-raters N] [--no-auto]

Datasets (development copies beside the project, not part of pluralist; absent ones
are named and skipped):
- ukp-convincingness: real pairwise judgements with rater ids (Habernal & Gurevych,
  2016; CC-BY-4.0). Raters with at least 20 judgements, at most 100 each (seeded).
- wmt23-mqm-sxs zhen and ende: professional translators' per-rater MQM scores (Freitag
  et al., 2021; Apache-2.0), pairs within a rater and a source segment.
- built-in: pluralist's own synthetic benchmark (the demo's data, seed --seed), so
  the text formats are measured on it with the same split and code as on the real sets.

For each dataset and text format: `compare`'s split (a quarter of the raters unseen;
seen raters' held-out comparisons share no text with their training ones; the split
depends on the texts, not on how they are composed, so both formats see the same
one), every family named and the `auto` choice (made on the seen raters' training
rows alone), k in {0, 5, 20}. Recorded per family: seen and unseen accuracy with 95%
intervals over raters, each k's paired gain over k = 0 with its interval, and the
difference to bt in per-rater mean accuracy with a paired bootstrap interval.
Targets: no family's k-shot accuracy below its own k = 0 beyond its interval; the
auto choice within 0.5 points of the best family and never more than 0.5 below bt
(scored as auto scores: the mean of seen and unseen k = 20 accuracy).

Writes bench/results/real.json: one entry per text format and dataset; a run replaces
only the entries it measured (each entry records its commit, families and seconds),
so the long runs can be made one format at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "real.json"
SHOTS = (0, 5, 20)
UKP_MIN, UKP_MAX = 20, 100
FORMATS = ("response", "prompt+response")
SOURCES = {"ukp-convincingness": ("ukp-convincingness/comparisons.jsonl.gz", "comparisons"),
           "wmt23-zhen": ("wmt23-mqm-sxs/zhen.ratings.jsonl.gz", "ratings"),
           "wmt23-ende": ("wmt23-mqm-sxs/ende.ratings.jsonl.gz", "ratings")}
BUILT_IN = "built-in"


def datasets(root: Path, names: list[str]) -> dict:
    """name -> (path, kind) of the sets asked for and found; the built-in one is generated."""
    found = {}
    for name in names:
        if name == BUILT_IN:
            found[name] = (None, "synthetic")
            continue
        path = root / SOURCES[name][0]
        if path.is_file():
            found[name] = (path, SOURCES[name][1])
        else:
            print(f"{name}: {path} not found, skipped (development data, not shipped)")
    return found


def load(path: Path | None, kind: str, seed: int):
    """(table, true p_chosen or None)."""
    from pluralist.data import SynthConfig, generate, read_comparisons, read_ratings

    if kind == "synthetic":
        synth = generate(SynthConfig(seed=seed))
        return synth.table, synth.p_chosen
    table = read_comparisons(path) if kind == "comparisons" else read_ratings(path)
    if kind != "comparisons":
        return table, None
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(rows)[:UKP_MAX] for rows in table.rows_by_rater().values()
            if len(rows) >= UKP_MIN]
    return table.take(np.sort(np.concatenate(keep))), None


def fewer_raters(table, p_true, most: int | None, seed: int):
    """At most `most` raters (a seeded sample; all of them where None or fewer)."""
    if most is None or len(table.raters) <= most:
        return table, p_true
    keep = np.random.default_rng(seed).permutation(np.array(table.raters, dtype=object))[:most]
    rows = np.flatnonzero(np.isin(table.rater.astype(object), keep))
    return table.take(rows), None if p_true is None else p_true[rows]


def run(table, p_true, spec, families: list[str], seed: int, auto: bool = True):
    from pluralist.data import split_raters
    from pluralist.encode import embed
    from pluralist.evaluation.choose import choose_family
    from pluralist.evaluation.protocol import EvalConfig, compare
    from pluralist.training import TrainConfig
    from pluralist.workflows import make_benchmark

    split = split_raters(table, unseen=0.25, seed=seed)
    bench = make_benchmark(table, split, spec, p_true=p_true, progress=False)
    config = TrainConfig(seed=seed)
    training = table.take(split.train)
    choice = choose_family(training, embed(training, spec), families, config, seed=seed) if auto else None
    results = compare(bench, {f: {} for f in families}, config,
                      EvalConfig(shots=SHOTS, seed=seed, reliability=False),
                      on_done=lambda f, r: print(f"  {f}: seen {r['seen'].get('accuracy')}", flush=True))
    return split, results, choice


def family_row(result: dict, bt: dict, seed: int) -> dict:
    from pluralist.evaluation.report import kshot_at

    per_rater = result["seen"]["per_rater_accuracy"]["values"]
    row = {"seen": result["seen"].get("accuracy"), "seen_ci95": result["seen"].get("accuracy_ci95"),
           "seen_per_rater": per_rater,   # raters sorted by id: paired across families and formats
           "seen_minus_bt": paired_difference(per_rater, bt["seen"]["per_rater_accuracy"]["values"], seed)}
    for point in result["unseen_kshot"]:
        k = point["k"]
        row[f"k{k}"], row[f"k{k}_ci95"] = point.get("accuracy"), point.get("accuracy_ci95")
        if "vs_population" in point:
            row[f"k{k}_gain_over_k0"] = point["vs_population"]
    row["score"] = (row["seen"] + kshot_at(result, SHOTS[-1])) / 2
    return row


def paired_difference(values, baseline, seed: int, resamples: int = 2000) -> dict:
    """Mean over raters of (values - baseline) per-rater accuracy, with a 95% bootstrap
    interval over raters (both scored on the same comparisons, raters in the same order)."""
    difference = np.asarray(values) - np.asarray(baseline)
    rng = np.random.default_rng(seed)
    means = difference[rng.integers(len(difference), size=(resamples, len(difference)))].mean(1)
    return {"difference": float(difference.mean()),
            "ci95": [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]}


def targets(rows: dict, choice: dict | None) -> dict:
    below = sorted(f"{family} k={k}" for family, row in rows.items() for k in SHOTS[1:]
                   if row.get(f"k{k}_gain_over_k0", {}).get("below_population"))
    best = max(rows, key=lambda f: rows[f]["score"])
    if choice is None:   # --no-auto
        return {"points_below_k0": below, "no_point_below_k0": not below, "best": best}
    auto = rows[choice["chosen"]]["score"]
    return {"points_below_k0": below, "no_point_below_k0": not below,
            "auto": choice["chosen"], "best": best,
            "auto_minus_best": auto - rows[best]["score"], "auto_minus_bt": auto - rows["bt"]["score"],
            "auto_within_half_a_point_of_best": auto >= rows[best]["score"] - 0.005,
            "auto_not_half_a_point_below_bt": auto >= rows["bt"]["score"] - 0.005}


def format_differences(by_format: dict, seed: int) -> dict:
    """dataset -> family -> prompt+response - response in seen per-rater accuracy (paired:
    the split does not depend on the format), for what was measured in both formats."""
    response, both = by_format.get("response", {}), by_format.get("prompt+response", {})
    out = {}
    for name in (name for name in response if name in both):
        if any(response[name].get(key) != both[name].get(key) for key in ("raters", "max_raters")):
            continue   # measured on other raters (a run of one format since): nothing to pair
        a, b = response[name]["families"], both[name]["families"]
        out[name] = {family: paired_difference(b[family]["seen_per_rater"], a[family]["seen_per_rater"], seed)
                     for family in a if family in b}
    return out


def measure(name: str, path, kind: str, spec, args) -> dict:
    started = time.perf_counter()
    table, p_true = fewer_raters(*load(path, kind, args.seed), args.max_raters, args.seed)
    print(f"{name} ({spec.text_format}): {len(table)} comparisons, {len(table.raters)} raters", flush=True)
    families, seed = args.families, args.seed
    split, results, choice = run(table, p_true, spec, families, seed, auto=not args.no_auto)
    rows = {family: family_row(result, results["bt"], seed) for family, result in results.items()}
    entry = {"comparisons": len(table), "raters": len(table.raters), "split": split.summary(),
             "auto": choice, "families": rows, "targets": targets(rows, choice),
             "encoder": spec.encoder, "seed": seed, "max_raters": args.max_raters, "commit": _commit(), "seconds": time.perf_counter() - started}
    print(json.dumps(entry["targets"]), flush=True)
    return entry


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def previous() -> dict:
    """The results so far, where they have this file's shape (older ones are replaced)."""
    if RESULTS.is_file():
        old = json.loads(RESULTS.read_text())
        if "text_formats" in old:
            return old
    return {"text_formats": {}}


def default_data() -> Path:
    """shared/data beside the project or beside a folder above it (a git worktree's)."""
    beside = [folder / "shared" / "data" for folder in ROOT.parents]
    return next((path for path in beside if path.is_dir()), beside[0])


def arguments():
    from pluralist.workflows import personalised_families

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(default_data()))
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-format", choices=[*FORMATS, "both"], default="both")
    parser.add_argument("--datasets", default=",".join([*SOURCES, BUILT_IN]))
    parser.add_argument("--families", default=",".join(["bt", *personalised_families()]))
    parser.add_argument("--max-raters", type=int, default=None,
                        help="a seeded sample of at most this many raters per dataset (shorter runs)")
    parser.add_argument("--no-auto", action="store_true", help="skip the --family auto choice")
    args = parser.parse_args()
    args.datasets, args.families = args.datasets.split(","), args.families.split(",")
    unknown = sorted(set(args.datasets) - {*SOURCES, BUILT_IN})
    if unknown or "bt" not in args.families:
        parser.error(f"unknown datasets {unknown}" if unknown else "--families must include bt")
    return args


def main() -> None:
    from pluralist.encode import EmbedSpec
    from pluralist.fileio import write_json_atomic

    args = arguments()
    out = previous()
    out["format_differences"] = format_differences(out["text_formats"], args.seed)
    out.update({"encoder": args.encoder, "seed": args.seed, "shots": list(SHOTS),
                "default_text_format": EmbedSpec().text_format,
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
                           f"average {os.getloadavg()[0]:.1f} at the start (timings vary with it; "
                           "accuracies do not)"})
    formats = FORMATS if args.text_format == "both" else (args.text_format,)
    for text_format in formats:
        spec = EmbedSpec(args.encoder, text_format)
        for name, (path, kind) in datasets(Path(args.data), args.datasets).items():
            entry = measure(name, path, kind, spec, args)
            out["text_formats"].setdefault(text_format, {})[name] = entry
            out["format_differences"] = format_differences(out["text_formats"], args.seed)
            write_json_atomic(RESULTS, out)   # after each set: a long run keeps what it measured


if __name__ == "__main__":
    main()
