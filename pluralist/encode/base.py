"""The Encoder protocol and the one place encoder names are resolved.

An encoder turns texts into float32 vectors. Its `id` is stable and changes
whenever the model, pooling or normalisation changes, so cached vectors and
trained models can never be mixed across encoders.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import EncoderError
from .device import CUDA_SUFFIX, require_cuda, runs_on_cuda, split_device

# How a comparison's prompt and response become the text that is embedded.
TEXT_FORMATS = ("response", "prompt+response")


@runtime_checkable
class Encoder(Protocol):
    id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32 array (n, dim)."""


def compose_text(prompt: str, response: str, text_format: str) -> str:
    """The text an encoder sees for one response; the format is recorded with models."""
    if text_format == "response":
        return response
    if text_format == "prompt+response":
        return f"{prompt}\n\n{response}" if prompt else response
    raise EncoderError(f"unknown text format {text_format!r}; choose from {TEXT_FORMATS}")


HASHING_DIMS = (8, 65536)   # fewer hashed slots than 8 collide on almost every feature


@functools.cache
def get_encoder(name: str) -> Encoder:
    """'minilm' (bundled, fastest faithful variant), 'minilm-exact' (fp32),
    'minilm-int8', 'minilm-bf16', 'minilm-onnx', 'minilm-onnx-int8', 'hashing[:DIM]', or 'hf:PATH[:mean|last]'.

    Encoders are built once per process: checking a model's encoder and then
    embedding with it must not load a transformer twice. A name ending in '@cuda'
    (device.py) runs on the GPU, in half precision but for minilm-exact."""
    check_encoder_name(name)
    if split_device(name)[1] == "cuda":
        return _cuda_encoder(split_device(name)[0])
    if name.startswith("minilm"):
        from .minilm import VARIANTS, bundled_minilm, fastest_precision

        return bundled_minilm(VARIANTS[name] or fastest_precision())
    if name.startswith("hashing"):
        from .hashing import HashingEncoder

        return HashingEncoder(dim=hashing_dim(name))
    from .hf import TransformersEncoder

    path, pooling = hf_path_and_pooling(name)
    return TransformersEncoder(path, pooling=pooling)


def _cuda_encoder(name: str) -> Encoder:
    require_cuda(name + CUDA_SUFFIX)
    precision = "fp32" if name == "minilm-exact" else "half"
    if name.startswith("minilm"):
        from .minilm import bundled_minilm

        return bundled_minilm(precision, device="cuda")
    from .hf import TransformersEncoder

    path, pooling = hf_path_and_pooling(name)
    return TransformersEncoder(path, pooling=pooling, precision=precision, device="cuda")


def concrete_encoder_name(name: str) -> str:
    """The name of the one variant `name` resolves to here: 'minilm' picks the fastest
    faithful variant for this CPU, which another machine's CPU might not pick."""
    if name != "minilm":
        return name
    from .minilm import VARIANTS, fastest_precision

    return next(variant for variant, precision in VARIANTS.items() if precision == fastest_precision())


def check_encoder_name(name: str) -> None:
    """Refuse a name no encoder answers to, without building one (no model is loaded),
    so that a command can check its --encoder before any work."""
    from .minilm import VARIANTS

    name, device = split_device(name)
    if device == "cuda" and not runs_on_cuda(name):
        raise EncoderError(f"encoder {name!r} runs on the CPU only; on CUDA use minilm, "
                           "minilm-exact or hf:PATH")
    if name in VARIANTS:
        return
    if name == "hashing" or name.startswith("hashing:"):
        hashing_dim(name)
        return
    if name.startswith("hf:") and hf_path_and_pooling(name)[0]:
        path = Path(hf_path_and_pooling(name)[0])
        if not (path / "config.json").is_file():
            raise EncoderError(f"{path}: not a local transformers model (no config.json)")
        return
    raise EncoderError(f"unknown encoder {name!r}; use minilm, minilm-exact, minilm-int8, "
                       "minilm-bf16, minilm-onnx, minilm-onnx-int8, hashing[:DIM] "
                       "or hf:PATH[:mean|last]")


def hashing_dim(name: str) -> int:
    if name == "hashing":
        return 384
    dim = name.partition(":")[2]
    low, high = HASHING_DIMS
    if not re.fullmatch(r"[0-9]{1,6}", dim) or not low <= int(dim) <= high:
        raise EncoderError(f"hashing dimension must be an integer from {low} to {high}, "
                           f"got {dim!r}")
    return int(dim)


def hf_path_and_pooling(name: str) -> tuple[str, str]:
    rest = name[3:]
    if rest.endswith((":mean", ":last")):
        path, _, pooling = rest.rpartition(":")
        return path, pooling
    return rest, "mean"
