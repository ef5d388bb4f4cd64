"""bench/int8_budget.py's simulated roundings: ONNX Runtime's own, and GPTQ's known answers."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

spec = importlib.util.spec_from_file_location(
    "bench_int8_budget", Path(__file__).parents[1] / "bench" / "int8_budget.py")
budget = importlib.util.module_from_spec(spec)
spec.loader.exec_module(budget)


def test_dynamic_uint8_matches_onnx_runtimes_dynamic_quantize_linear():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero"]),
         helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"])],
        "dq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=(64, 48)), rng.gamma(1.0, size=(64, 48)) - 0.1, rng.normal(size=(3, 5)) * 40):
        x = x.astype(np.float32)
        expected = session.run(None, {"x": x})[0]
        np.testing.assert_allclose(budget.dynamic_uint8(torch.from_numpy(x)).numpy(), expected,
                                   rtol=0, atol=1e-6)


def test_per_token_rounding_errs_by_at_most_half_of_each_tokens_step():
    x = torch.randn(32, 20) * torch.linspace(0.1, 10, 32)[:, None]
    step = (x.amax(1).clamp(min=0) - x.amin(1).clamp(max=0)) / 255
    error = (budget.per_token_uint8(x) - x).abs().amax(1)
    assert torch.all(error <= step / 2 + 1e-6)


def test_gptq_with_uncorrelated_unit_inputs_is_rounding_to_nearest():
    weight = torch.randn(16, 24, dtype=torch.float64)
    rounded = budget.gptq(weight, torch.eye(24, dtype=torch.float64), levels=7, damping=0.0)
    torch.testing.assert_close(rounded, budget.nearest(weight, 7))


def test_gptq_output_error_on_correlated_inputs_is_below_rounding_to_nearests():
    generator = torch.Generator().manual_seed(1)
    mixing = torch.randn(24, 24, generator=generator, dtype=torch.float64)
    inputs = torch.randn(2000, 24, generator=generator, dtype=torch.float64) @ mixing
    weight = torch.randn(16, 24, generator=generator, dtype=torch.float64)
    moments = inputs.T @ inputs
    rounded = budget.gptq(weight, moments, levels=7)
    on_grid = rounded / budget.column_scales(weight, 7)
    assert torch.allclose(on_grid, on_grid.round(), atol=1e-9) and on_grid.abs().max() <= 7 + 1e-9

    def output_error(w):
        return float(((inputs @ (weight - w).T) ** 2).sum())

    assert output_error(rounded) < 0.6 * output_error(budget.nearest(weight, 7))
