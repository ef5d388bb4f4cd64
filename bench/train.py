"""Training throughput, wall time, peak memory and adaptation latency per family.

    python bench/train.py [--sizes 100000 1000000] [--families bt lowrank ...] [--epochs 10]

Data: cached-embedding stand-ins (unit 384-d vectors for 20,000 texts) with
comparisons from 10,000 raters whose labels follow a rank-4 ground truth; the
cost of training depends on the shapes, not on where the vectors came from.
Each (family, size) runs in a fresh subprocess so that peak memory (max RSS)
is its own. Every epoch is run (no early stopping) so times compare.

    python bench/train.py --scale

runs `lowrank` alone at scale: 10M comparisons over 1M distinct texts (a 1.5 GB
float32 vector table) from 100,000 raters, 2 epochs, validation held out by texts
(the default); that split is timed again after the fit and recorded beside it
(`text_holdout_s`, part of the wall time). Vectors are generated in chunks
and labels from (T, K) projections, never an (N, D) copy. Writes its row under
"scale" in bench/results/train.json, leaving the rest of the file as it was (and the
default run leaves "scale" as it was).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "train.json"
DIM, TEXTS, RATERS, TRUE_RANK = 384, 20_000, 10_000, 4


SCALE = {"comparisons": 10_000_000, "texts": 1_000_000, "raters": 100_000, "epochs": 2}
CHUNK = 1 << 16   # rows generated at once: bounds the float64 temporaries


def unit_vectors(rng, texts: int) -> np.ndarray:
    """(texts, DIM) float32 unit vectors, drawn chunk by chunk (the same draws as one call)."""
    vectors = np.empty((texts, DIM), dtype=np.float32)
    for start in range(0, texts, CHUNK):
        chunk = vectors[start:start + CHUNK]
        chunk[:] = rng.standard_normal(chunk.shape)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors


def make_data(n: int, seed: int = 0, *, texts: int = TEXTS, raters: int = RATERS):
    from pluralist.models import PreferenceData

    rng = np.random.default_rng(seed)
    vectors = unit_vectors(rng, texts)
    basis = rng.standard_normal((DIM, TRUE_RANK)).astype(np.float32) * 3
    weights = rng.standard_normal((raters, TRUE_RANK)).astype(np.float32)
    rater = rng.integers(raters, size=n)
    a, b = rng.integers(texts, size=n), rng.integers(texts, size=n)
    b = np.where(a == b, (b + 1) % texts, b)
    projected = vectors @ basis                                        # (T, K): no (N, D) copies
    margin = np.empty(n, dtype=np.float32)
    for start in range(0, n, 16 * CHUNK):                              # nor (N, K) temporaries
        part = slice(start, start + 16 * CHUNK)
        margin[part] = np.einsum("nk,nk->n", weights[rater[part]], projected[a[part]] - projected[b[part]])
    a_wins = rng.random(n) < 1 / (1 + np.exp(-margin))
    chosen, rejected = np.where(a_wins, a, b), np.where(a_wins, b, a)
    del a, b, margin, a_wins
    return PreferenceData.from_arrays(vectors, chosen, rejected, rater, n_raters=raters)


def time_text_holdout(data, fraction: float) -> tuple[float, int]:
    """Seconds to hold out `fraction` of every rater's rows by texts, and the rows it drops."""
    from pluralist.data.holdout import holdout

    rater, chosen, rejected = (t.numpy() for t in (data.rater, data.chosen, data.rejected))
    started = time.perf_counter()
    _, _, dropped = holdout(np.arange(len(chosen)), rater, chosen, rejected, fraction,
                            np.random.default_rng(0))
    return round(time.perf_counter() - started, 2), int(len(dropped))


def run_scale(batch_size: int) -> dict:
    """Runs inside the subprocess: lowrank at SCALE, fit alone timed (no calibration)."""
    import torch

    from pluralist.models import build_model
    from pluralist.training.loop import TrainConfig, fit

    n, epochs = SCALE["comparisons"], SCALE["epochs"]
    started = time.perf_counter()
    data = make_data(n, texts=SCALE["texts"], raters=SCALE["raters"])
    generate_s = time.perf_counter() - started
    torch.manual_seed(0)
    model = build_model("lowrank", dim=DIM, raters=data.raters)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-2, val_fraction=0.01,
                         patience=epochs + 1, seed=0, holdout="texts")
    started = time.perf_counter()
    result = fit(model, data, np.arange(n), config)
    seconds = time.perf_counter() - started
    text_holdout_s, text_dropped = time_text_holdout(data, config.val_fraction)
    return {"family": "lowrank", "comparisons": n, "texts": SCALE["texts"], "raters": SCALE["raters"],
            "text_holdout_s": text_holdout_s, "text_holdout_dropped": text_dropped,
            "vector_table_mib": round(data.vectors.numel() * 4 / 2**20), "epochs": result.epochs_run,
            "batch_size": batch_size, "holdout": config.holdout, "generate_s": round(generate_s, 2),
            "wall_s": round(seconds, 2), "comparisons_per_s": round(n * result.epochs_run / seconds),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "torch_threads": torch.get_num_threads(), "val_accuracy": round(result.best_val_accuracy, 4)}


def run_one(family: str, n: int, epochs: int, batch_size: int) -> dict:
    """Runs inside the subprocess."""
    import torch

    from pluralist.training.calibrate import choose_adapt_prior, seen_as_new
    from pluralist.models import build_model
    from pluralist.training.loop import TrainConfig, fit

    data = make_data(n)
    torch.manual_seed(0)
    model = build_model(family, dim=DIM, raters=data.raters)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-2, val_fraction=0.01,
                         patience=epochs + 1, seed=0)
    started = time.perf_counter()
    result = fit(model, data, np.arange(n), config)
    seconds = time.perf_counter() - started
    rows = np.arange(min(n, 200_000))
    choose_adapt_prior(model, data, seen_as_new(data, rows, rows, max_raters=50))
    latencies = []
    for rater_rows in list(data.rows_by_rater(np.arange(n)).values())[:200]:
        batch = data.batch(rater_rows[:20])
        start = time.perf_counter()
        model.adapt(batch)
        latencies.append(time.perf_counter() - start)
    return {"family": family, "comparisons": n, "epochs": result.epochs_run,
            "batch_size": batch_size, "wall_s": round(seconds, 2),
            "comparisons_per_s": round(n * result.epochs_run / seconds),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "adapt_k20_median_ms": round(1000 * statistics.median(latencies), 3),
            "adapt_k20_p90_ms": round(1000 * float(np.quantile(latencies, 0.9)), 3),
            "val_accuracy": round(result.best_val_accuracy, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--families", nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--scale", action="store_true",
                        help="lowrank at 10M comparisons over 1M texts, 2 epochs (the 'scale' key)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the JSON written (another file keeps a side run out of the README's)")
    parser.add_argument("--child", nargs=2, metavar=("FAMILY", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--scale-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        family, n = args.child
        print(json.dumps(run_one(family, int(n), args.epochs, args.batch_size)))
        return
    if args.scale_child:
        print(json.dumps(run_scale(args.batch_size)))
        return
    from pluralist.fileio import write_json_atomic

    import torch

    previous = json.loads(args.results.read_text()) if args.results.is_file() else {}
    if args.scale:
        load = round(os.getloadavg()[0], 2)
        out = subprocess.run([sys.executable, __file__, "--scale-child", "--batch-size", str(args.batch_size)],
                             capture_output=True, text=True, check=True)
        row = {**json.loads(out.stdout.strip().splitlines()[-1]), "load_average_at_start": load}
        print(json.dumps(row), flush=True)
        previous = json.loads(args.results.read_text()) if args.results.is_file() else {}   # read again: a
        write_json_atomic(args.results, {**previous, "scale": row})                  # default run may have written
        return
    from pluralist.models import family_names

    rows = list(previous.get("results", []))
    for n in args.sizes:
        for family in args.families or family_names():
            load = round(os.getloadavg()[0], 2)
            out = subprocess.run([sys.executable, __file__, "--child", family, str(n),
                                  "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)],
                                 capture_output=True, text=True, check=True)
            row = {**json.loads(out.stdout.strip().splitlines()[-1]), "load_average_at_start": load}
            print(json.dumps(row), flush=True)
            # each row replaces its (family, size) in place as soon as it is measured: a run
            # cut short leaves the rows it did not reach as they were (without a load figure)
            same = [i for i, old in enumerate(rows) if (old["family"], old["comparisons"]) == (family, n)]
            if same:
                rows[same[0]] = row
            else:
                rows.append(row)
            previous = json.loads(args.results.read_text()) if args.results.is_file() else {}
            write_json_atomic(args.results, {**previous, "dim": DIM, "texts": TEXTS, "raters": RATERS, "results": rows,
                                        "machine": {"cpus": os.cpu_count(),
                                                    "torch_threads": torch.get_num_threads(),
                                                    "processor": platform.machine(),
                                                    "torch": torch.__version__}})

if __name__ == "__main__":
    main()
