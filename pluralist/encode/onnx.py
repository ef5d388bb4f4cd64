"""A BERT-family model run by ONNX Runtime, in fp32 or with int8 products; no torch at run time.

The model is exported once (torch.onnx.export of the transformers module, traced
with eager attention so the padding mask stays a real input of the graph) into
the pluralist cache directory, under a name keyed by the model's fingerprint and
EXPORT_VERSION. A later process loads that file with onnxruntime's CPU provider
and tokenizes with the `tokenizers` library, so it imports neither torch nor
transformers: on a 2-core machine those imports and the model load are a large
part of a short `pluralist embed` (python -X importtime). Pooling and L2
normalisation run in numpy, as in hf.py. With int8=True the export is rewritten
once more (onnx_int8.py, calibrated on fixed texts) into a second cached file.

The export is written atomically, then a SHA-256 of it; a file whose digest is
missing or differs (a copy cut short, a disk error) is exported again, never used.
ONNX Runtime: https://onnxruntime.ai/docs/api/python/api_summary.html
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from ..errors import EncoderError
from ..fileio import atomic_path, write_text_atomic
from .hf import CHARS_PER_TOKEN, _clean, _fingerprint, note_truncation, token_batches
from .paths import cache_root

EXPORT_VERSION = 1   # bump when the export recipe changes the graph's numbers
INT8_VERSION = 1     # bump when onnx_int8.py's rewrite or its calibration changes
OPSET = 17
log = logging.getLogger("pluralist")


def onnx_available() -> bool:
    """onnxruntime and tokenizers importable (neither is imported here)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def export_dir() -> Path:
    """ROOT/onnx, beside the embedding cache's ROOT/embeddings (paths.py)."""
    return cache_root() / "onnx"


class OnnxEncoder:
    """Mean-pooled, L2-normalised vectors of a local BERT-family model through ONNX Runtime.

    Same tokens (256 at most), same length-bucketed batches as TransformersEncoder;
    in fp32 the vectors agree with the transformers ones to float rounding, but the
    products are summed in another order, so the id is its own; int8 has another."""

    def __init__(self, path: str | Path, *, name: str, max_length: int = 256, int8: bool = False,
                 batch_size: int = 64, batch_tokens: int = 2048, root: str | Path | None = None):
        self.path = Path(path)
        self.max_length, self.batch_size, self.batch_tokens = max_length, batch_size, batch_tokens
        self.max_chars = max_length * CHARS_PER_TOKEN
        self._warned_truncation = False
        if not onnx_available():
            raise EncoderError("the onnx variant needs the packages onnxruntime and tokenizers; "
                               "install them, or use minilm-exact")
        config = _config(self.path)
        self.dim = int(config["hidden_size"])
        fingerprint = _fingerprint(self.path)
        self.precision = "onnx-int8" if int8 else "onnx"
        version = f"o{EXPORT_VERSION}" + (f"-q{INT8_VERSION}" if int8 else "")
        self.id = f"{name}:mean:norm:onnx-{version}:{fingerprint}"
        stem = f"{name}-{fingerprint}-o{EXPORT_VERSION}"
        fp32_file = Path(root or export_dir()) / f"{stem}.onnx"
        self.file = fp32_file.with_name(f"{stem}-q{INT8_VERSION}.onnx") if int8 else fp32_file
        self._tokenizer = _tokenizer(self.path, max_length)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        ensure_export(self.path, fp32_file)
        if int8:
            ensure_file(self.file, lambda dest: self._write_int8(fp32_file, dest))
        self._session = _session(self.file)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows, feed in self._feeds(texts):
            hidden = self._session.run(None, feed)[0]
            out[rows] = _pooled(hidden, feed["attention_mask"])
        return out

    def _feeds(self, texts: list[str]):
        """(rows, the graph's inputs) per length-bucketed batch of `texts`."""
        if not texts:
            return
        ids = [e.ids for e in self._tokenizer.encode_batch([_clean(t[:self.max_chars]) for t in texts])]
        cut = any(len(t) > self.max_chars for t in texts)
        note_truncation(self, self.max_length if cut else max(map(len, ids)))
        for rows in token_batches([len(row) for row in ids], self.batch_tokens, self.batch_size):
            yield rows, self._padded([ids[i] for i in rows])

    def _padded(self, ids: list[list[int]]) -> dict:
        input_ids = np.full((len(ids), max(map(len, ids))), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, tokens in enumerate(ids):   # right padding
            input_ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def _write_int8(self, fp32_file: Path, dest: Path) -> None:
        """The fp32 graph with int8 products (onnx_int8.py), calibrated on fixed texts."""
        import onnx

        from .calibration import CALIBRATION_TEXTS
        from .onnx_int8 import calibration_absmax, quantize

        def run(graph: bytes):
            session = _session(graph)
            for _rows, feed in self._feeds(list(CALIBRATION_TEXTS)):
                yield session.run(None, feed), feed["attention_mask"]

        model = onnx.load(str(fp32_file))
        quantize(model, calibration_absmax(model, run))
        onnx.save(model, str(dest))


def _pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2 normalisation."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)   # as torch's normalize: never divide by 0


def ensure_export(model: Path, file: Path) -> Path:
    """`file`, exported from `model` now unless a complete, unaltered export is there."""
    return ensure_file(file, lambda dest: export(model, dest))


def ensure_file(file: Path, write) -> Path:
    """`file`, written now by `write(path)` unless a complete, unaltered one is there."""
    if _verified(file):
        return file
    if file.exists():
        log.warning("%s: incomplete or altered ONNX export; exporting it again", file)
    log.info("writing %s (once; later runs load it)", file)
    _digest_file(file).unlink(missing_ok=True)   # no stale mark beside a new file
    with atomic_path(file) as tmp:
        write(tmp)
        digest = _digest(tmp)
    write_text_atomic(_digest_file(file), digest + "\n")   # the commit mark, written last
    return file


def export(model: Path, dest: Path) -> None:
    """The transformers model's last hidden state as an ONNX graph with dynamic batch and length."""
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as err:
        raise EncoderError(f"exporting to ONNX needs torch and transformers ({err})") from None
    if importlib.util.find_spec("onnx") is None:   # torch's exporter writes through it
        raise EncoderError("exporting to ONNX needs the package onnx; install it, or use minilm-exact")
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # eager attention: the sdpa path may drop an all-ones mask while tracing
    bert = AutoModel.from_pretrained(model, local_files_only=True, attn_implementation="eager").eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0   # a padded row, so the traced graph keeps the mask's path
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "hidden": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")   # tracer warnings about shapes the dynamic axes cover
        torch.onnx.export(_last_hidden(bert), (ids, mask), str(dest), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes=axes, opset_version=OPSET)


def _last_hidden(bert):
    """`bert` as a module of (input_ids, attention_mask) -> last hidden state, for tracing."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return LastHidden()


def _session(file: Path | bytes):
    import onnxruntime as ort

    from ..runtime import requested_threads, usable_cores

    threads = requested_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads < usable_cores():   # sharing the machine: sleep, don't spin (runtime.py)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(file if isinstance(file, bytes) else str(file), options,
                                    providers=["CPUExecutionProvider"])
    except Exception as err:   # onnxruntime raises its own exception types
        label = "a graph" if isinstance(file, bytes) else file
        raise EncoderError(f"{label}: onnxruntime cannot load it ({str(err).splitlines()[0]})") from None


def _tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    file = path / "tokenizer.json"
    if not file.is_file():
        raise EncoderError(f"{path}: the onnx variant needs a fast tokenizer (no tokenizer.json)")
    tokenizer = Tokenizer.from_file(str(file))
    tokenizer.no_padding()   # batches are padded here, after sorting by length
    tokenizer.enable_truncation(max_length)
    return tokenizer


def _config(path: Path) -> dict:
    try:
        return json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise EncoderError(f"{path}: not a local transformers model ({err})") from None


def _verified(file: Path) -> bool:
    try:
        expected = _digest_file(file).read_text().strip()
    except OSError:
        return False
    return file.is_file() and _digest(file) == expected


def _digest(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _digest_file(file: Path) -> Path:
    return file.with_name(file.name + ".sha256")
