"""`compare` on the PAL-style persona benchmark built from ../shared/data/persona.

    python bench/persona.py [--src ../shared/data/persona] [--encoder minilm]

The persona files (CC-BY-4.0, Anthropic's model-written evaluations, Perez et
al., 2022) are not part of pluralist; when they are absent this script says so
and writes nothing. Results go to bench/results/persona.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "persona.json"
FAMILIES = "bt,lowrank,mixture,ideal_point,variational,gpm,decomposed"


def pluralist(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pluralist.cli", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", default=str(ROOT.parent / "shared" / "data" / "persona"))
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--seed", default="0")
    args = parser.parse_args()
    if not Path(args.src).is_dir():
        print(f"persona files not found at {args.src}: nothing measured")
        return
    from pluralist.fileio import write_json_atomic
    from pluralist.evaluation.report import kshot_at

    with tempfile.TemporaryDirectory() as tmp:
        data = f"{tmp}/persona.jsonl"
        build = ["data", "persona", "--src", args.src, "--out", data, "--seed", args.seed]
        compare = ["compare", data, "--families", FAMILIES, "--encoder", args.encoder,
                   "--unseen", "0.25", "--shots", "0,1,5,10,20", "--seed", args.seed,
                   "--out", f"{tmp}/report"]
        pluralist(*build)
        pluralist(*compare)
        metrics = json.loads(Path(f"{tmp}/report/metrics.json").read_text())
    table = [{"family": family,
              "seen_accuracy": round(metrics["families"][family]["seen"]["accuracy"], 4),
              "seen_worst_group": metrics["families"][family]["seen"].get("worst_group"),
              **{f"unseen_k{k}": round(kshot_at(metrics["families"][family], k), 4)
                 for k in (0, 5, 20)}}
             for family in metrics["ranking"]]
    result = {"source": "Anthropic persona evaluations (CC-BY-4.0), Perez et al. 2022",
              "commands": ["pluralist " + " ".join(build), "pluralist " + " ".join(compare)],
              "split": metrics["meta"]["split"], "encoder_id": metrics["meta"]["encoder_id"],
              "results": table}
    write_json_atomic(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
