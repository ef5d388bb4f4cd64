"""Matrix-product throughput at MiniLM's shapes, fp32 against int8, in torch and ONNX Runtime.

    python bench/gemm.py [--rounds 15] [--out bench/results/gemm.json]

Why: an encoder's speed-up over sentence-transformers is bounded by how fast
this CPU multiplies matrices, since the six Linear layers of each block are most
of MiniLM's work. This measures, side by side in one run and with every thread
pluralist would use, one block's products for a batch of 4,096 tokens (about 34
texts of ~120 tokens): query/key/value/attention-out (384 -> 384), feed-forward
in (384 -> 1536) and out (1536 -> 384), each as

- torch fp32 (`torch.nn.functional.linear`),
- torch int8 (`torch._int_mm`, the product int8.py uses; dequantizing not counted),
- ONNX Runtime fp32 (`MatMul` + `Add`),
- ONNX Runtime int8 with one activation scale per tensor, quantizing and
  dequantizing fused into the product (`com.microsoft.DynamicQuantizeMatMul`),
- ONNX Runtime int8 with one activation scale per token (row), which int8.py's
  fidelity needs (`QuantizeLinear` along rows, `MatMulIntegerToFloat`, then the
  row scales and the bias as two more element-wise passes).

It also turns the best rate into a floor: the seconds the products alone need
for bench/encode.py's whole-process texts, beside which the rest of the encoder
(attention, softmax, GELU, LayerNorm, tokenizing) still has to run. The CPU's
flags are recorded with the result; run it on an AVX2-only CPU through
bench/avx2_only.sh.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "gemm.json"
TOKENS = 4096
SHAPES = {"qkvo": (384, 384, 4), "ffn_in": (384, 1536, 1), "ffn_out": (1536, 384, 1)}  # K, N, per block
LAYERS = 6


def timed(run, rounds: int) -> float:
    """Median seconds of one call, after a warm-up call."""
    run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_runs(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> dict:
    import torch

    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(weight.T.copy()), torch.from_numpy(bias)
    xq = torch.randint(-127, 128, x.shape, dtype=torch.int8)
    wq = torch.randint(-127, 128, weight.shape, dtype=torch.int8)
    # no tensor here requires grad, so autograd records nothing without inference_mode
    return {"torch fp32": lambda: torch.nn.functional.linear(xt, wt, bt),
            "torch int8 (_int_mm)": lambda: torch._int_mm(xq, wq)}


def ort_runs(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, threads: int) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    runs = {}
    for name, graph in ort_graphs(weight, bias).items():
        session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        runs[name] = lambda session=session: session.run(None, {"X": x})
    return runs


def ort_graphs(weight: np.ndarray, bias: np.ndarray) -> dict[str, bytes]:
    """Three one-product graphs X (M, K) -> Y (M, N) with the same weights."""
    from onnx import TensorProto, helper, numpy_helper

    k, n = weight.shape
    scale = np.maximum(np.abs(weight).max(0), 1e-8) / 127           # per output channel
    quantized = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
    consts = {"W": weight, "b": bias, "Wq": quantized, "cs": scale.astype(np.float32),
              "wzp": np.zeros(n, np.int8), "Wu": (quantized.astype(np.int16) + 128).astype(np.uint8),
              "wuzp": np.full(n, 128, np.uint8), "inv127": np.float32(1 / 127), "eps": np.float32(1e-8),
              "flat": np.array([-1], np.int64), "zp": np.uint8(128), "one": np.float32(1.0)}

    def model(nodes, names):
        inits = [numpy_helper.from_array(np.asarray(consts[c]), c) for c in names]
        graph = helper.make_graph(nodes, "product", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["M", k])],
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])], inits)
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        return helper.make_model(graph, opset_imports=opsets).SerializeToString()

    node = helper.make_node
    per_token = [node("Abs", ["X"], ["abs"]), node("ReduceMax", ["abs"], ["absmax"], axes=[1]),
                 node("Mul", ["absmax", "inv127"], ["rs0"]), node("Max", ["rs0", "eps"], ["rs"]),
                 node("Reshape", ["rs", "flat"], ["rs_flat"]), node("Shape", ["rs_flat"], ["m"]),
                 node("Expand", ["zp", "m"], ["zp_rows"]),
                 node("QuantizeLinear", ["X", "rs_flat", "zp_rows"], ["Xq"], axis=0),
                 node("MatMulIntegerToFloat", ["Xq", "Wq", "one", "cs", "zp", "wzp"], ["P"],
                      domain="com.microsoft"),
                 node("Mul", ["P", "rs"], ["Ps"]), node("Add", ["Ps", "b"], ["Y"])]
    return {"onnxruntime fp32": model([node("MatMul", ["X", "W"], ["P"]), node("Add", ["P", "b"], ["Y"])],
                                      ["W", "b"]),
            "onnxruntime int8, scale per tensor": model(
                [node("DynamicQuantizeMatMul", ["X", "Wq", "cs", "wzp", "b"], ["Y"], domain="com.microsoft")],
                ["Wq", "cs", "wzp", "b"]),
            "onnxruntime uint8 weights, scale per tensor": model(
                [node("DynamicQuantizeMatMul", ["X", "Wu", "cs", "wuzp", "b"], ["Y"], domain="com.microsoft")],
                ["Wu", "cs", "wuzp", "b"]),
            "onnxruntime int8, scale per token": model(
                per_token, ["Wq", "cs", "wzp", "b", "inv127", "eps", "flat", "zp", "one"])}


def block_seconds(rounds: int, threads: int) -> dict[str, float]:
    """Seconds of one block's six products on TOKENS tokens, by implementation."""
    rng = np.random.default_rng(0)
    total: dict[str, float] = {}
    for k, n, count in SHAPES.values():
        x = rng.standard_normal((TOKENS, k), dtype=np.float32)
        weight = (rng.standard_normal((k, n), dtype=np.float32) / np.sqrt(k)).astype(np.float32)
        bias = rng.standard_normal(n, dtype=np.float32)
        runs = {**torch_runs(x, weight, bias), **ort_runs(x, weight, bias, threads)}
        for name, run in runs.items():
            total[name] = total.get(name, 0.0) + count * timed(run, rounds)
    return total


def whole_process_tokens() -> int:
    """Tokens of bench/encode.py's whole-process texts (its WHOLE_TEXTS), as minilm cuts them."""
    sys.path.insert(0, str(Path(__file__).parent))
    from embed_scale import bench_texts
    from encode import WHOLE_TEXTS

    from pluralist.encode.minilm import bundled_minilm

    tokenizer = bundled_minilm("fp32")._tokenizer
    return sum(len(ids) for ids in tokenizer(bench_texts(WHOLE_TEXTS), truncation=True,
                                             max_length=256)["input_ids"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from encode import machine

    from pluralist.fileio import write_json_atomic
    from pluralist.runtime import configure_threads

    configure_threads()
    threads = torch.get_num_threads()
    seconds = block_seconds(args.rounds, threads)
    macs = TOKENS * sum(k * n * count for k, n, count in SHAPES.values())
    tokens = whole_process_tokens()
    fastest = min(seconds.values())
    result = {"tokens_per_block_call": TOKENS, "rounds": args.rounds, "threads": threads,
              "block_ms": {name: round(s * 1e3, 2) for name, s in seconds.items()},
              "gmac_per_s": {name: round(macs / s / 1e9, 1) for name, s in seconds.items()},
              "ratio_to_torch_fp32": {name: round(seconds["torch fp32"] / s, 2) for name, s in seconds.items()},
              "whole_process_tokens": tokens,
              "products_floor_s": {name: round(tokens / TOKENS * LAYERS * s, 2) for name, s in seconds.items()},
              "fastest": min(seconds, key=seconds.get),
              "fastest_products_floor_s": round(tokens / TOKENS * LAYERS * fastest, 2),
              "machine": machine()}
    write_json_atomic(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
