"""Embedding on Ray against the local path, measured side by side in one run.

    python bench/embed_scale.py [--texts 4000] [--block-size 1000] [--rounds 3]

Each round embeds the same texts into empty caches: locally with torch on 1 thread and
on every core, then with the Ray engine on 1 and 2 actors (one CPU, so one torch thread,
each) of a local cluster started once. Cluster start and actor start-up (each loads the
encoder) are timed apart from embedding: they are paid once per run, not per block.
Ray's overhead per block is the 1-actor time against the 1-thread local time, over the
same blocks. Medians over rounds; the CPU's flags recorded. Writes
bench/results/embed_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "embed_scale.json"


def bench_texts(count: int) -> list[str]:
    """Distinct texts of ~480 characters from the built-in benchmark's responses."""
    from pluralist.data.synthetic import generate

    responses = [r for r in generate().texts if len(r) >= 200]
    texts = []
    while len(texts) < count:
        i = len(texts)
        texts.append(f"({i}) " + " ".join(responses[(i + j) % len(responses)] for j in range(2))[:480])
    return texts


def timed_embed(texts, encoder_name: str, engine) -> float:
    from pluralist.encode import EmbeddingCache, get_encoder

    with tempfile.TemporaryDirectory() as root:
        cache = EmbeddingCache(get_encoder(encoder_name), root, engine=engine,
                               encoder_name=encoder_name)
        started = time.perf_counter()
        cache.embed(texts)
        return time.perf_counter() - started


def local_seconds(texts, encoder_name: str, threads: int) -> float:
    import torch

    from pluralist.encode.engine import EngineSpec

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return timed_embed(texts, encoder_name, EngineSpec())
    finally:
        torch.set_num_threads(before)


def ray_seconds(texts, encoder_name: str, workers: int, block_size: int) -> tuple[float, float]:
    """(start-up seconds, embedding seconds): the actors are warmed on one block first."""
    from pluralist.encode.engine import EngineSpec

    spec = EngineSpec("ray", workers=workers, block_size=block_size)
    started = time.perf_counter()
    timed_embed(texts[:workers], encoder_name, EngineSpec("ray", workers=workers, block_size=1))
    startup = time.perf_counter() - started
    return startup, timed_embed(texts, encoder_name, spec)


def one_round(texts, encoder_name: str, block_size: int) -> dict:
    row = {"local_1_thread_s": local_seconds(texts, encoder_name, 1),
           "local_all_threads_s": local_seconds(texts, encoder_name, os.cpu_count() or 1)}
    for workers in (1, 2):
        startup, seconds = ray_seconds(texts, encoder_name, workers, block_size)
        row[f"ray_{workers}_startup_s"], row[f"ray_{workers}_s"] = startup, seconds
    return row


def summarise(rounds: list[dict], count: int, block_size: int) -> dict:
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    overheads = [r["ray_1_s"] / r["local_1_thread_s"] - 1 for r in rounds]
    return {"texts_per_s": {name: count / median[f"{name}_s"]
                            for name in ("local_1_thread", "local_all_threads", "ray_1", "ray_2")},
            "startup_s": {w: median[f"ray_{w}_startup_s"] for w in ("1", "2")},
            "ray_overhead_per_block_median": statistics.median(overheads),
            "ray_overhead_per_block_rounds": overheads,
            "block_size": block_size, "target_overhead": 0.10,
            "target_met": statistics.median(overheads) < 0.10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--block-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--encoder", default="minilm")
    args = parser.parse_args()
    import ray

    from pluralist.encode.base import concrete_encoder_name
    from pluralist.encode.minilm import cpu_flags

    name, texts = concrete_encoder_name(args.encoder), bench_texts(args.texts)
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    rounds = [one_round(texts, name, args.block_size) for _ in range(args.rounds)]
    ray.shutdown()
    result = {"encoder": name, "texts": args.texts, "rounds": rounds, "cpus": os.cpu_count(),
              "cpu": platform.processor() or platform.machine(),
              "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "amx"))),
              **summarise(rounds, args.texts, args.block_size)}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("texts_per_s", "ray_overhead_per_block_median")}, indent=2))


if __name__ == "__main__":
    main()
