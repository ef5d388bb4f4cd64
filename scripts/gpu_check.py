"""The encoders and a training on a CUDA GPU, against this machine's CPU, in one run.

    python scripts/gpu_check.py [--texts 1200] [--rounds 3] [--out bench/results/gpu_check.json]

Encoders: minilm@cuda (bf16, or fp16 where the GPU lacks bf16) and minilm-exact@cuda
(fp32) against minilm-exact on the CPU: texts/s (median over rounds, after a warm-up),
cosine to the CPU's fp32 vectors (worst and mean), peak GPU memory. Training: `lowrank`
on the built-in benchmark embedded on the GPU and on the CPU; the training loop itself
runs on the CPU (it has no device option yet), so what this checks is that GPU vectors
train as well as CPU ones. Refuses (exit 2) where there is no CUDA GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "gpu_check.json"
GPU_ENCODERS = ("minilm@cuda", "minilm-exact@cuda")


def check_texts(count: int) -> list[str]:
    """Distinct texts of ~480 characters from the built-in benchmark's responses."""
    from pluralist.data.synthetic import generate

    responses = [r for r in generate().texts if len(r) >= 200]
    return [f"({i}) " + " ".join(responses[(i + j) % len(responses)] for j in range(2))[:480]
            for i in range(count)]


def timed(encode, texts: list[str], rounds: int) -> tuple[np.ndarray, float]:
    encode(texts[:64])   # warm-up: kernels chosen, memory pools filled
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        vectors = encode(texts)
        seconds.append(time.perf_counter() - started)
    return vectors, len(texts) / statistics.median(seconds)


def encoder_rows(texts: list[str], rounds: int) -> dict:
    import torch

    from pluralist.encode import get_encoder

    reference, cpu_rate = timed(get_encoder("minilm-exact").encode, texts, 1)
    rows = {"minilm-exact (cpu)": {"texts_per_s": round(cpu_rate, 1)}}
    for name in GPU_ENCODERS:
        torch.cuda.reset_peak_memory_stats()
        encoder = get_encoder(name)
        vectors, rate = timed(encoder.encode, texts, rounds)
        cosine = np.sum(vectors * reference, axis=1)
        rows[name] = {"id": encoder.id, "texts_per_s": round(rate, 1),
                      "speedup_over_cpu_fp32": round(rate / cpu_rate, 2),
                      "cosine_worst": round(float(cosine.min()), 5),
                      "cosine_mean": round(float(cosine.mean()), 6),
                      "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20)}
    return rows


def training_rows() -> dict:
    from pluralist.data import generate
    from pluralist.encode import EmbedSpec, embed
    from pluralist.models import PreferenceData
    from pluralist.training import TrainConfig, train

    table = generate().table
    rows = {}
    for device in ("cuda", "cpu"):
        spec = EmbedSpec("minilm-exact", cache_dir=None, device=device)
        started = time.perf_counter()
        data = PreferenceData.from_table(table, embed(table, spec))
        embedded = time.perf_counter() - started
        _, result, _ = train(data, np.arange(len(table)), "lowrank", config=TrainConfig(seed=0))
        rows[f"vectors from {device}"] = {"encoder": spec.encoder, "embed_s": round(embedded, 2),
                                          "train_s": round(result.seconds, 2),
                                          "val_accuracy": round(result.best_val_accuracy, 4),
                                          "training_device": "cpu"}
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from pluralist.encode.device import cuda_available

    if not cuda_available():
        print("gpu_check: no CUDA GPU that torch can use on this machine", file=sys.stderr)
        return 2
    import torch

    from pluralist.fileio import write_json_atomic

    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(), "texts": args.texts,
              "encoders": encoder_rows(check_texts(args.texts), args.rounds),
              "training": training_rows()}
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
