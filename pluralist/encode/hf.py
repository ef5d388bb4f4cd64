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
CPU_PRECISIONS = ("fp32", "bf16", "int8")
CUDA_PRECISIONS = ("fp32", "half")   # half: bf16 where the GPU has it, else fp16
log = logging.getLogger("pluralist")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
INT8_VERSION = 3  # bump when the int8 recipe or its calibration texts change
COMPACT_VERSION = 1  # bump when bert.py's forward changes its numbers
# Texts are cut to this many characters per token of the model's limit before
# tokenizing: a token rarely spans more, and a whole 50 MB text would be tokenized
# only to be truncated.
CHARS_PER_TOKEN = 64


class TransformersEncoder:
    """Texts are tokenized first, then batched by length under a token budget
    (dynamic padding, see `token_batches`).

    precision "fp32" runs the transformers forward. "bf16" and "int8" (BERT
    models only) run the compact forward of bert.py: matrix products in bf16,
    residual stream, LayerNorms, pooling and normalisation in fp32; "int8" also
    turns the query/key/value, attention-output and first feed-forward
    products into smoothed int8 ones (int8.py), calibrated on fixed texts when
    the encoder is built. Their vectors differ from fp32 ones, so each has its
    own id.

    device "cuda" runs the transformers forward on the GPU, in fp32 or "half"
    (bf16 where the GPU computes it natively, else fp16), pooling in fp32; its
    vectors have their own id (':cuda-bf16', ':cuda-fp16', ':cuda-fp32').
    """

    def __init__(self, path: str | Path, *, pooling: str = "mean", normalize: bool = True,
                 max_length: int = 512, batch_size: int = 64, batch_tokens: int = 2048,
                 name: str | None = None, precision: str = "fp32", device: str = "cpu"):
        self.path, self.pooling, self.normalize = Path(path), pooling, normalize
        self.device = device
        self.max_length, self.precision = max_length, precision
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
        self._warned_truncation = False
        if pooling not in POOLINGS:
            raise EncoderError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        allowed = CUDA_PRECISIONS if device == "cuda" else CPU_PRECISIONS
        if precision not in allowed:
            raise EncoderError(f"precision {precision!r} on {device}: choose from {allowed}")
        if not (self.path / "config.json").is_file():
            raise EncoderError(f"{self.path}: not a local transformers model (no config.json)")
        self._tokenizer, self._model = _load(self.path)
        self.dim = int(self._model.config.hidden_size)
        self.max_length = min(max_length, self._tokenizer.model_max_length or max_length)
        self.max_chars = self.max_length * CHARS_PER_TOKEN
        label = name or f"hf:{self.path.name}"
        if device == "cuda":
            suffix = ":cuda-" + self._to_cuda(precision)
        else:
            suffix = {"fp32": "", "bf16": f":bf16-c{COMPACT_VERSION}",
                      "int8": f":int8-sq{INT8_VERSION}"}[precision]
        self.id = f"{label}:{pooling}:{'norm' if normalize else 'raw'}{suffix}:{_fingerprint(self.path)}"
        if device == "cpu" and precision != "fp32":
            self._compact(precision)

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        ids = self._tokenizer([_clean(t[:self.max_chars]) for t in texts], truncation=True,
                              max_length=self.max_length)["input_ids"]
        cut = any(len(t) > self.max_chars for t in texts)
        note_truncation(self, self.max_length if cut else max(map(len, ids), default=0))
        with torch.inference_mode():
            for rows in token_batches([len(row) for row in ids], self.batch_tokens, self.batch_size):
                out[rows] = self._encode_batch([ids[i] for i in rows])
        return out

    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        import torch

        input_ids = torch.full((len(ids), max(map(len, ids))), self._tokenizer.pad_token_id)
        mask = torch.zeros_like(input_ids)
        for row, tokens in enumerate(ids):  # right padding
            input_ids[row, :len(tokens)] = torch.tensor(tokens)
            mask[row, :len(tokens)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        hidden = self._model(input_ids=input_ids, attention_mask=mask)    # (B, T, H)
        hidden = getattr(hidden, "last_hidden_state", hidden).float()  # pooled in fp32
        pooled = _POOL[self.pooling](hidden, mask)                         # (B, H)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.cpu().numpy()

    def _to_cuda(self, precision: str) -> str:
        """Moves the model to the GPU; the dtype name that goes into the id."""
        import torch

        from .device import half_dtype_name

        dtype_name = half_dtype_name() if precision == "half" else "fp32"
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype_name]
        self._model = self._model.to(device="cuda", dtype=dtype)
        return dtype_name

    def _compact(self, precision: str) -> None:
        """Swap in bert.py's forward: bf16 products, or int8 ones calibrated in fp32."""
        import torch

        from .bert import CompactBert

        try:
            self._model = CompactBert(self._model)
        except ValueError as err:
            raise EncoderError(f"{self.path}: {precision} precision needs {err}") from None
        if precision == "int8":
            self._quantize()
        self._model.linears_to(torch.bfloat16)

    def _quantize(self) -> None:
        from .calibration import CALIBRATION_TEXTS
        from .int8 import int8_available, quantize_linears

        if not int8_available():
            raise EncoderError("int8 precision needs torch's int8 matrix product, "
                               "which this torch build lacks; use fp32 or bf16")
        # The compact model is still fp32 here: calibration sees fp32 activations.
        quantize_linears(self._model, lambda: self.encode(list(CALIBRATION_TEXTS)))



def note_truncation(encoder, longest: int) -> None:
    """Say once per encoder (its `_warned_truncation`) that long texts are cut at its limit."""
    if not encoder._warned_truncation and longest >= encoder.max_length:
        encoder._warned_truncation = True
        log.warning("%s: texts longer than %d tokens are truncated to that length",
                    encoder.id, encoder.max_length)


def token_batches(lengths: list[int], max_tokens: int, max_rows: int):
    """Row indices in batches of similar length, each padded to at most
    `max_tokens` tokens (rows x longest row) and `max_rows` rows.

    Sorting by length keeps padding small; a token budget rather than a fixed
    row count lets short texts go in large batches (the products are more
    efficient) and long ones in small batches (attention's length-squared
    scores then stay in cache). Measured with minilm's fast variants on 2
    cores: 64 rows of ~20-token texts ran 10-35% faster than 16 rows, and 8
    rows of ~250-token texts 30-40% faster than 32 rows."""
    order = np.argsort(lengths, kind="stable")
    batch: list[int] = []
    for index in order:
        if batch and (len(batch) + 1) * lengths[index] > max_tokens or len(batch) == max_rows:
            yield np.array(batch)
            batch = []
        batch.append(int(index))
    if batch:
        yield np.array(batch)


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
