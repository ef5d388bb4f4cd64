"""A persona-size fit on a quiet and on a loaded machine, with torch's thread defaults
and with pluralist's (pluralist/runtime.py), side by side in one run.

    python bench/threads.py [--rounds 3] [--busy 2]

The fit: `lowrank` on 18,000 comparisons of 300 raters (the built-in benchmark's
generator, hashing:64 vectors so that encoding costs nothing), the loop, population
refit and prior and trust choice together (training/recipe.py's `train`), timed inside
a fresh process after imports. "Loaded": `--busy` processes spinning on the CPU for the
whole fit. Conditions are interleaved within each round so that a slow spell hits them
alike; medians over rounds. The slowdown under load should be in proportion to the
share of the cores left (about (busy + 1) / cores when busy >= cores), not tenfold.
Writes bench/results/threads.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "threads.json"

FIT = """
import time, numpy as np
{setup}
from pluralist.data import SynthConfig
from pluralist.data.synthetic import generate
from pluralist.encode import EmbedSpec, embed
from pluralist.models import PreferenceData
from pluralist.training import TrainConfig
from pluralist.training.recipe import train
table = generate(SynthConfig(raters=300, comparisons_per_rater=60, seed=0)).table
data = PreferenceData.from_table(table, embed(table, EmbedSpec("hashing:64", cache_dir={cache!r})))
started = time.perf_counter()
train(data, np.arange(len(table)), "lowrank", config=TrainConfig(seed=0))
print(time.perf_counter() - started)
"""
SETUPS = {"torch defaults": "",
          "pluralist": "from pluralist.runtime import configure_threads; configure_threads()"}
SPIN = "while True: pass"


def fit_seconds(setup: str, cache: str) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", FIT.format(setup=setup, cache=cache)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def loaded_seconds(setup: str, cache: str, busy: int) -> float:
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(busy)]
    try:
        return fit_seconds(setup, cache)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def one_round(cache: str, busy: int) -> dict:
    row = {}
    for name, setup in SETUPS.items():
        row[f"{name} | quiet"] = fit_seconds(setup, cache)
        row[f"{name} | loaded"] = loaded_seconds(setup, cache, busy)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2)
    args = parser.parse_args()
    cache = str(Path(os.environ.get("TMPDIR", "/tmp")) / "pluralist-bench-threads")
    fit_seconds("", cache)   # embeds once, so no round pays for it
    rounds = [one_round(cache, args.busy) for _ in range(args.rounds)]
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    slowdown = {name: median[f"{name} | loaded"] / median[f"{name} | quiet"] for name in SETUPS}
    result = {"rounds": rounds, "median_s": median, "slowdown_loaded_over_quiet": slowdown,
              "busy_processes": args.busy, "cores": os.cpu_count(),
              "load_before": os.getloadavg()[0], "cpu": platform.processor() or platform.machine()}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"median_s": median, "slowdown": slowdown}, indent=2))


if __name__ == "__main__":
    main()
