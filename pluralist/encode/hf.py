"""Any local transformers model as an encoder, with mean or last-token pooling.

Last-layer features are what PAL (Chen et al., 2024) and LoRe (Bose et al.,
2025) put small reward heads on. Loading is strictly local: no hub access.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import EncoderError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POOLINGS = ("mean", "last")
PRECISIONS = ("fp32", "bf16", "int8")
log = logging.getLogger("pluralist")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
INT8_VERSION = 2  # bump when the int8 recipe or its calibration texts change


class TransformersEncoder:
    """Batches are sorted by length so padding stays small (dynamic padding).

    precision "bf16" runs the transformer under CPU bfloat16 autocast (matrix
    products in bf16, pooling and normalisation in fp32); "int8" also replaces
    the attention projections and first feed-forward layer by smoothed int8
    products (see int8.py), calibrated on fixed texts when the encoder is
    built. Their vectors differ from fp32 ones, so each has its own id.
    """

    def __init__(self, path: str | Path, *, pooling: str = "mean", normalize: bool = True,
                 max_length: int = 512, batch_size: int = 32, name: str | None = None,
                 precision: str = "fp32"):
        self.path, self.pooling, self.normalize = Path(path), pooling, normalize
        self.max_length, self.batch_size, self.precision = max_length, batch_size, precision
        self._warned_truncation = False
        if pooling not in POOLINGS:
            raise EncoderError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        if precision not in PRECISIONS:
            raise EncoderError(f"unknown precision {precision!r}; choose from {PRECISIONS}")
        if not (self.path / "config.json").is_file():
            raise EncoderError(f"{self.path}: not a local transformers model (no config.json)")
        self._tokenizer, self._model = _load(self.path)
        self.dim = int(self._model.config.hidden_size)
        self.max_length = min(max_length, self._tokenizer.model_max_length or max_length)
        label = name or f"hf:{self.path.name}"
        suffix = {"fp32": "", "bf16": ":bf16", "int8": f":int8-sq{INT8_VERSION}"}[precision]
        self.id = f"{label}:{pooling}:{'norm' if normalize else 'raw'}{suffix}:{_fingerprint(self.path)}"
        if precision == "int8":
            self._quantize()

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        bf16 = self.precision != "fp32"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for start in range(0, len(texts), self.batch_size):
                rows = order[start:start + self.batch_size]
                out[rows] = self._encode_batch([_clean(texts[i]) for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        tokens = self._tokenizer(texts, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
        self._note_truncation(tokens)
        hidden = self._model(**tokens).last_hidden_state.float()  # (B, T, H)
        mask = tokens["attention_mask"]                    # (B, T)
        pooled = _POOL[self.pooling](hidden, mask)         # (B, H)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().numpy()


    def _quantize(self) -> None:
        from .calibration import CALIBRATION_TEXTS
        from .int8 import int8_available, quantize_linears

        if not int8_available():
            raise EncoderError("int8 precision needs torch's int8 matrix product, "
                               "which this torch build lacks; use fp32 or bf16")
        precision, self.precision = self.precision, "fp32"  # calibrate on the fp32 model
        try:
            quantize_linears(self._model, lambda: self.encode(list(CALIBRATION_TEXTS)))
        finally:
            self.precision = precision

    def _note_truncation(self, tokens) -> None:
        """Say once per encoder that long texts are cut at the model's limit."""
        if not self._warned_truncation and tokens["attention_mask"].shape[1] >= self.max_length:
            self._warned_truncation = True
            log.warning("%s: texts longer than %d tokens are truncated to that length",
                        self.id, self.max_length)


def _mean_pool(hidden, mask):
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _last_token_pool(hidden, mask):
    import torch

    last = mask.sum(1) - 1  # right padding: the last real token of each row
    return hidden[torch.arange(hidden.shape[0]), last.clamp(min=0)]


_POOL = {"mean": _mean_pool, "last": _last_token_pool}


def _clean(text: str) -> str:
    # Lone surrogates (from bytes decoded with errors="surrogateescape") break tokenizers.
    return text.encode("utf-8", "replace").decode("utf-8")


def _load(path: Path):
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    except (OSError, ValueError) as err:
        raise EncoderError(f"{path}: cannot load model ({str(err).splitlines()[0]})") from None
    return tokenizer, model


def _fingerprint(path: Path) -> str:
    """Changes with the config and the weight files (name and size), cheap to compute."""
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for weights in sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:12]
