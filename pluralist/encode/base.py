"""The Encoder protocol and the one place encoder names are resolved.

An encoder turns texts into float32 vectors. Its `id` is stable and changes
whenever the model, pooling or normalisation changes, so cached vectors and
trained models can never be mixed across encoders.
"""

from __future__ import annotations

import functools
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import EncoderError

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


@functools.cache
def get_encoder(name: str) -> Encoder:
    """'minilm' (bundled, fastest faithful variant), 'minilm-exact' (fp32),
    'minilm-int8', 'minilm-bf16', 'hashing[:DIM]', or 'hf:PATH[:mean|last]'.

    Encoders are built once per process: checking a model's encoder and then
    embedding with it must not load a transformer twice."""
    if name.startswith("minilm"):
        from .minilm import VARIANTS, bundled_minilm, fastest_precision

        if name in VARIANTS:  # "minilm" and the variant it resolves to share one instance
            return bundled_minilm(VARIANTS[name] or fastest_precision())
    if name == "hashing" or name.startswith("hashing:"):
        from .hashing import HashingEncoder

        dim = name.partition(":")[2]
        if dim and not dim.isdigit():
            raise EncoderError(f"hashing dimension must be an integer, got {dim!r}")
        return HashingEncoder(dim=int(dim) if dim else 384)
    if name.startswith("hf:"):
        from .hf import TransformersEncoder

        path, _, pooling = name[3:].rpartition(":") if name.endswith((":mean", ":last")) \
            else (name[3:], "", "mean")
        return TransformersEncoder(path, pooling=pooling)
    raise EncoderError(f"unknown encoder {name!r}; use minilm, minilm-exact, minilm-int8, "
                       "minilm-bf16, hashing[:DIM] "
                       "or hf:PATH[:mean|last]")
