"""An int8 rewrite of the exported BERT graph for ONNX Runtime, for CPUs without bf16.

On such a CPU the fp32 products are bound by the FMA units, and the six Linear
products of each block are most of the work (bench/gemm.py). ONNX Runtime's
int8 product with its quantizing fused in (`DynamicQuantizeMatMul`: one uint8
scale and zero point per activation tensor, int8 weights) runs faster. Keeping
the vectors within cosine 0.99 worst and 0.999 mean of fp32 (bench/encode.py)
limits it:

- weights have 7 bits (WEIGHT_LEVELS), since without VNNI the 8-bit product
  saturates: the mean cosine fell from 0.9993 to 0.9974 on an AVX2-only CPU;
- only the query, key and value products are int8. With 7-bit weights the
  first feed-forward product as well brought the mean under 0.999; the second
  reads GELU outputs and lost about 1% by itself;
- SmoothQuant (Xiao et al., 2023, "SmoothQuant: Accurate and Efficient
  Post-Training Quantization for Large Language Models"): input channel j is
  divided by s_j = max|x_j|^a / max|W_j|^(1-a) and weight row j multiplied by
  it, so outlier channels move into the weights' per-column scales; query, key
  and value read one tensor and share one s;
- padded positions are zeroed before quantizing, so padding never widens the
  range (their outputs are masked in attention and pooling anyway).

The scale is per batch, so a text's vector depends slightly on the texts
batched with it, always within the bounds above.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import numpy as np

QUANTIZED = re.compile(r"layer\.\d+/attention/self/(query|key|value)/MatMul$")
SMOOTHING = 0.7   # SmoothQuant's migration strength; best of 0.4 to 0.85 measured
MASK = "pluralist_mask"
# Without VNNI, x86 multiplies uint8 by int8 in pairs summed into int16
# (vpmaddubsw), which saturates: 2 * 255 * 127 > 32767. Weights within +-63
# keep every pair in range, so AVX2 and VNNI CPUs compute the same integers.
WEIGHT_LEVELS = 63
# uint8 weights with zero point 128 instead (ONNX Runtime then multiplies uint8 by
# uint8 in 16-bit lanes, which cannot saturate, so 8-bit weights keep their
# precision, but runs slower); bench/int8_choice.py measures the trade.
UNSIGNED_WEIGHTS = False


def quantized_matmuls(graph) -> list:
    """The MatMul nodes to rewrite (their weights are initializers)."""
    weights = {init.name for init in graph.initializer}
    return [node for node in graph.node if node.op_type == "MatMul" and QUANTIZED.search(node.name)
            and node.input[1] in weights]


def calibration_absmax(model, run: Callable[[bytes], Iterable[tuple[list, np.ndarray]]]) -> dict:
    """Per channel, the largest |input| of each rewritten product over real tokens.

    `run(graph_bytes)` runs a graph over the calibration texts and yields, per
    batch, its outputs and the attention mask."""
    import onnx
    from onnx import helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inputs = sorted({node.input[0] for node in quantized_matmuls(probe.graph)})
    for name in inputs:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    absmax: dict[str, np.ndarray] = {}
    for outputs, mask in run(probe.SerializeToString()):
        for name, values in zip(inputs, outputs[len(model.graph.output):]):
            seen = np.abs(values[mask.astype(bool)]).max(0)
            absmax[name] = np.maximum(absmax[name], seen) if name in absmax else seen
    return absmax


def quantize(model, absmax: dict) -> None:
    """Rewrite `model` (an onnx ModelProto, changed in place) with int8 products."""
    from onnx import helper, numpy_helper

    graph = model.graph
    arrays = {init.name: init for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    by_input: dict[str, list] = {}
    for node in quantized_matmuls(graph):
        by_input.setdefault(node.input[0], []).append(node)
    dropped, tensors = set(), []
    added = _mask_nodes(tensors)
    for source, matmuls in by_input.items():
        weights = [numpy_helper.to_array(arrays[node.input[1]]) for node in matmuls]
        smooth = _smoothing(absmax[source], np.max([np.abs(w).max(1) for w in weights], axis=0))
        scaled = _smoothed_input(source, smooth, added, tensors)
        for node, weight in zip(matmuls, weights):
            bias_add = consumers[node.output[0]][0]   # the exporter's MatMul -> Add(bias)
            added.append(_int8_product(node, bias_add, weight * smooth[:, None], scaled, tensors))
            dropped |= {node.name, bias_add.name}
    graph.initializer.extend(tensors)
    kept = [node for node in graph.node if node.name not in dropped]
    del graph.node[:]
    graph.node.extend(_topological(kept + added, graph))
    read = {name for node in graph.node for name in node.input}
    unread = [init for init in graph.initializer if init.name not in read]   # the fp32 weights
    for init in unread:
        graph.initializer.remove(init)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def _int8_product(matmul, bias_add, weight: np.ndarray, scaled: str, tensors: list):
    """One node for MatMul + Add(bias) on the smoothed input; its weights appended to `tensors`."""
    from onnx import helper, numpy_helper

    if bias_add.op_type != "Add" or not bias_add.name:
        raise ValueError(f"{matmul.name}: expected a named bias Add after it")
    bias = next(name for name in bias_add.input if name != matmul.output[0])
    quantized, scales = _int8_columns(weight)
    zero = np.zeros(len(scales), np.int8)
    if UNSIGNED_WEIGHTS:
        quantized, zero = (quantized.astype(np.int16) + 128).astype(np.uint8), zero.astype(np.uint8) + 128
    prefix = matmul.name
    tensors += [numpy_helper.from_array(quantized, f"{prefix}/int8_weight"),
                numpy_helper.from_array(scales, f"{prefix}/weight_scale"),
                numpy_helper.from_array(zero, f"{prefix}/weight_zero")]
    return helper.make_node(
        "DynamicQuantizeMatMul", [scaled, f"{prefix}/int8_weight", f"{prefix}/weight_scale",
                                  f"{prefix}/weight_zero", bias],
        [bias_add.output[0]], name=f"{prefix}/int8", domain="com.microsoft")


def _smoothing(input_absmax: np.ndarray, weight_absmax: np.ndarray) -> np.ndarray:
    return (np.maximum(input_absmax, 1e-5) ** SMOOTHING
            / np.maximum(weight_absmax, 1e-5) ** (1 - SMOOTHING)).astype(np.float32)


def _int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 7-bit weights (in int8) with one scale per output column."""
    scales = (np.maximum(np.abs(weight).max(0), 1e-8) / WEIGHT_LEVELS).astype(np.float32)
    return np.clip(np.round(weight / scales), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8), scales


def _mask_nodes(tensors: list) -> list:
    """attention_mask (B, T) as a float (B, T, 1), to zero padded positions; the axis
    it is unsqueezed along appended to `tensors`."""
    import onnx
    from onnx import helper, numpy_helper

    tensors.append(numpy_helper.from_array(np.array([-1], np.int64), f"{MASK}/axis"))
    return [helper.make_node("Cast", ["attention_mask"], [f"{MASK}/float"], to=onnx.TensorProto.FLOAT),
            helper.make_node("Unsqueeze", [f"{MASK}/float", f"{MASK}/axis"], [MASK])]


def _smoothed_input(source: str, smooth: np.ndarray, nodes: list, tensors: list) -> str:
    """Append the nodes computing source / smooth with padded positions zeroed; its name."""
    from onnx import helper, numpy_helper

    tensors.append(numpy_helper.from_array((1 / smooth).astype(np.float32), f"{source}/inverse_smoothing"))
    nodes += [helper.make_node("Mul", [source, f"{source}/inverse_smoothing"], [f"{source}/smoothed"]),
              helper.make_node("Mul", [f"{source}/smoothed", MASK], [f"{source}/smoothed_masked"])]
    return f"{source}/smoothed_masked"


def _topological(nodes: list, graph) -> list:
    """`nodes` in an order where every input is produced before it is read."""
    ready = {value.name for value in graph.input} | {init.name for init in graph.initializer} | {""}
    ordered, pending = [], list(nodes)
    while pending:
        waiting = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise ValueError("the graph has a cycle or an input nothing produces")
        pending = waiting
    return ordered
