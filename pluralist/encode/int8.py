"""Int8 matrix products for a transformer encoder, at cosine >= 0.999 to fp32.

Plain dynamic int8 (one activation scale per tensor) loses too much on MiniLM:
a few hidden channels carry outliers 10-100x the rest, so every other channel
is rounded to a handful of levels. Two known remedies, combined here:

- SmoothQuant (Xiao et al., 2023, "SmoothQuant: Accurate and Efficient
  Post-Training Quantization for Large Language Models"): divide activation
  channel j by s_j = max|x_j|^a / max|W_j|^(1-a) and multiply weight column j
  by s_j, which leaves the product unchanged but moves the outliers into the
  weights, where a per-output-channel scale absorbs them.
- one activation scale per token (row) rather than per batch, so a long or
  unusual text does not coarsen the others in its batch.

The second feed-forward layer (its input comes out of GELU: heavy-tailed,
one-sided) stays in bf16: quantized too, it brought the mean cosine too close
to the 0.999 bar. The products run through torch's
int8 GEMM (AVX512-VNNI where present); bench/encode.py measures the result.
"""

from __future__ import annotations

import re

import numpy as np
import torch

# Linear layers of the compact BERT forward (bert.py) whose inputs quantize
# well: the query/key/value projections and the first feed-forward layer
# (they read LayerNorm outputs) and the attention output (reads the context).
QUANTIZED = re.compile(r"\.(query|key|value|attention_out|ffn_in)$")
SMOOTHING = 0.5  # SmoothQuant's migration strength; nearby values did as well


def _symmetric_scale(x, dim: int):
    return x.abs().amax(dim=dim, keepdim=True).clamp(min=1e-8) / 127.0


class Int8Linear(torch.nn.Module):
    """y = x W^T + b with int8 weights (per output channel) and int8 inputs (per token)."""

    def __init__(self, linear: torch.nn.Linear, input_absmax: torch.Tensor):
        super().__init__()
        weight = linear.weight.detach().float()
        smooth = (input_absmax.clamp(min=1e-5) ** SMOOTHING
                  / weight.abs().amax(0).clamp(min=1e-5) ** (1 - SMOOTHING))
        weight = weight * smooth
        weight_scale = _symmetric_scale(weight, 1)            # (N, 1)
        quantized = (weight / weight_scale).round().clamp(-127, 127).to(torch.int8)
        self.register_buffer("weight_t", quantized.t())  # (K, N), a view of (N, K)
        # The output is bf16 (as a bf16 Linear returns; the GELU and attention
        # that follow then read half the bytes), so the scales and bias are too.
        self.register_buffer("weight_scale", weight_scale.t().to(torch.bfloat16))  # (1, N)
        bias = linear.bias if linear.bias is not None else torch.zeros(linear.out_features)
        self.register_buffer("bias", bias.detach().to(torch.bfloat16))
        self.register_buffer("inv_smooth", 1.0 / smooth)
        self.out_features = linear.out_features

    def forward(self, x):
        shape = x.shape
        rows = x.reshape(-1, shape[-1]) * self.inv_smooth      # fp32 (M, K)
        row_scale = _symmetric_scale(rows, 1)                  # (M, 1)
        # |rows / row_scale| <= 127 by construction: no clamp needed.
        quantized = (rows / row_scale).round_().to(torch.int8)
        # Every pass over the (tokens, outputs) product costs about as much as
        # the int8 product itself, so dequantizing takes three: to bf16,
        # times the row scales, then times the channel scales plus the bias.
        out = torch._int_mm(quantized, self.weight_t).to(torch.bfloat16)
        out.mul_(row_scale.to(torch.bfloat16))
        torch.addcmul(self.bias, out, self.weight_scale, out=out)
        return out.reshape(*shape[:-1], self.out_features)


def quantize_linears(model, calibrate) -> None:
    """Replace the selected Linear layers of `model` in place.

    `calibrate()` runs the fp32 model over calibration texts; the largest
    absolute input of each channel seen then sets the smoothing factors."""
    targets = {name: module for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and QUANTIZED.search(name)}
    absmax: dict[str, torch.Tensor] = {}

    def recorder(name):
        def hook(_module, inputs):
            seen = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0).float()
            absmax[name] = torch.maximum(absmax[name], seen) if name in absmax else seen
        return hook

    hooks = [module.register_forward_pre_hook(recorder(name)) for name, module in targets.items()]
    try:
        calibrate()
    finally:
        for hook in hooks:
            hook.remove()
    for name, module in targets.items():
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, Int8Linear(module, absmax[name]))


def int8_available() -> bool:
    """torch's int8 GEMM runs here and gives exact integer products."""
    try:
        a = torch.arange(-64, 64, dtype=torch.int8).reshape(4, 32)
        b = torch.arange(-128, 128, dtype=torch.int8).reshape(32, 8)
        return bool(np.array_equal(torch._int_mm(a, b).numpy(), a.int().numpy() @ b.int().numpy()))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False
