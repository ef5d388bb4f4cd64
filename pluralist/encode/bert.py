"""A compact inference-only forward for BERT-architecture encoders (MiniLM).

The transformers forward, run under bf16 autocast on a small CPU, spends much
of its time outside the matrix products it needs: re-casting fp32 weights to
bf16 on every call, a CPU flash-attention kernel that is slow for 12 heads of
32 channels and short texts, and a pooler whose output mean pooling never
reads. This forward computes the same function (Devlin et al., 2019: post-LayerNorm
blocks, exact GELU) from the same weights with:

- Linear weights cast to bf16 once; the residual stream and LayerNorms stay
  fp32, as under autocast;
- attention as two batched products with an additive padding mask;
- no pooler.

Its Linear layers are the model's own `torch.nn.Linear`s, named `query`,
`key`, `value`, `attention_out`, `ffn_in` and `ffn_out`, so int8.py can
replace them. (Query, key and value stay three products: fused into one int8
product they were no faster and, sharing one smoothing, less faithful.)
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Layer(nn.Module):
    def __init__(self, hf_layer, heads: int):
        super().__init__()
        attention = hf_layer.attention
        self.query, self.key, self.value = attention.self.query, attention.self.key, attention.self.value
        self.attention_out = attention.output.dense
        self.attention_norm = attention.output.LayerNorm
        self.ffn_in = hf_layer.intermediate.dense
        self.ffn_out = hf_layer.output.dense
        self.ffn_norm = hf_layer.output.LayerNorm
        self.heads = heads

    def forward(self, x, mask_bias):
        batch, length, width = x.shape
        head_dim = width // self.heads

        def split_heads(projection):  # (B, T, H) -> (B * heads, T, head_dim)
            out = _linear(projection, x).view(batch, length, self.heads, head_dim)
            return out.transpose(1, 2).reshape(batch * self.heads, length, head_dim)

        q, k, v = split_heads(self.query), split_heads(self.key), split_heads(self.value)
        scores = torch.baddbmm(mask_bias, q, k.transpose(1, 2), alpha=1 / math.sqrt(head_dim))
        context = torch.bmm(scores.softmax(-1), v)
        context = context.view(batch, self.heads, length, head_dim).transpose(1, 2)
        attended = _linear(self.attention_out, context.reshape(batch, length, width))
        x = self.attention_norm(attended.float() + x)
        hidden = F.gelu(_linear(self.ffn_in, x))
        return self.ffn_norm(_linear(self.ffn_out, hidden).float() + x)


class CompactBert(nn.Module):
    """`forward(input_ids, attention_mask) -> last hidden states (B, T, H)`, fp32."""

    def __init__(self, hf_model):
        super().__init__()
        config = hf_model.config
        if config.model_type != "bert" or config.hidden_act != "gelu":
            raise ValueError(f"a BERT encoder with exact GELU, not {config.model_type} "
                             f"with {config.hidden_act}")
        self.embeddings = hf_model.embeddings
        self.layers = nn.ModuleList(Layer(layer, config.num_attention_heads)
                                    for layer in hf_model.encoder.layer)
        self.heads = config.num_attention_heads
        self.compute_dtype = torch.float32  # of the products: fp32 until linears_to
        self.eval()

    def linears_to(self, dtype) -> None:
        """Cast the remaining nn.Linear layers (not int8 ones) to `dtype`."""
        self.compute_dtype = dtype
        for module in self.layers.modules():
            if isinstance(module, nn.Linear):
                module.to(dtype)

    def forward(self, input_ids, attention_mask, **_unused):
        x = self.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        dtype = self.compute_dtype
        # -inf would give NaN rows for all-padding queries; a large negative does not.
        bias = (1.0 - attention_mask[:, None, :].to(dtype)) * torch.finfo(dtype).min / 2
        bias = bias.repeat_interleave(self.heads, dim=0)  # (B * heads, 1, T)
        for layer in self.layers:
            x = layer(x, bias)
        return x


def _linear(module, x):
    """Feed a layer in its own precision (an int8 layer takes any float input)."""
    weight = getattr(module, "weight", None)
    return module(x.to(weight.dtype) if weight is not None else x)
