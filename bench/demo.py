"""Run `pluralist demo` end to end and record its headline numbers and wall time.

    python bench/demo.py [--encoder minilm] [--cold]

--cold uses an empty embedding cache, as on a fresh machine. Writes
bench/results/demo.json with the two targets of the demo: the best
personalised family beats bt on unseen raters at k = 20 by >= 15 points, and
reaches >= 90% of Bayes accuracy on seen raters.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "demo.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    from pluralist.workflows import demo_headline
    from pluralist.fileio import write_json_atomic

    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pluralist.cli", "demo", "--out", f"{tmp}/demo",
                   "--encoder", args.encoder]
        if args.cold:
            command += ["--cache-dir", f"{tmp}/cache"]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
        metrics = json.loads(Path(f"{tmp}/demo/report/metrics.json").read_text())
    headline = demo_headline(metrics["families"])
    result = {"encoder": args.encoder, "encoder_id": metrics["meta"]["encoder_id"],
              "cold_cache": args.cold, "wall_s": round(seconds, 1),
              **headline,
              "targets": {"gain_over_bt_k20>=0.15": headline["gain_over_bt_k20"] >= 0.15,
                          "best_seen_fraction_of_bayes>=0.90":
                              headline["best_seen_fraction_of_bayes"] >= 0.90,
                          "wall_s<=600": seconds <= 600},
              "ranking": metrics["ranking"]}
    write_json_atomic(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
