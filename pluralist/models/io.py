"""The one loader (and saver) of trained models: safetensors + config.json, no pickle.

config.json carries the family, its hyperparameters, the embedding dimension,
the rater vocabulary, the encoder id and text format the model was trained on,
and the library version. Loading with other embeddings is refused.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from ..errors import ModelError
from .base import PreferenceModel
from .registry import get_family

FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


def save_model(model: PreferenceModel, directory: str | Path, *, extra: dict | None = None) -> Path:
    """Write the model directory atomically: a reader sees the old model or the new one."""
    from .. import __version__

    directory = Path(directory)
    meta = {"format": FORMAT_VERSION, "family": model.family,
            "config": dataclasses.asdict(model.config), "dim": model.dim,
            "raters": list(model.raters), "encoder_id": model.encoder_id,
            "text_format": model.text_format, "library_version": __version__,
            "extra": extra or {}}
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, staging / WEIGHTS_FILE)
        (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        old = None
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{staging.name[-8:]}")
            directory.rename(old)
        staging.rename(directory)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def read_model_meta(directory: str | Path) -> dict:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{directory}: not a pluralist model directory (no {CONFIG_FILE})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}: malformed JSON ({err.msg})") from None
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{path}: unsupported model format {meta.get('format')!r}")
    return meta


def load_model(directory: str | Path, *, encoder_id: str | None = None) -> PreferenceModel:
    """Rebuild a model; with `encoder_id`, refuse embeddings other than the training ones."""
    meta = read_model_meta(directory)
    if encoder_id is not None and encoder_id != meta["encoder_id"]:
        raise ModelError(f"{directory}: model was trained on embeddings from {meta['encoder_id']!r}, "
                         f"not {encoder_id!r}; embed with the same encoder (--encoder)")
    cls = get_family(meta["family"])
    model = cls(cls.Config(**meta["config"]), dim=meta["dim"], raters=tuple(meta["raters"]))
    try:
        model.load_state_dict(load_file(Path(directory) / WEIGHTS_FILE))
    except (OSError, RuntimeError) as err:
        raise ModelError(f"{directory}: cannot read {WEIGHTS_FILE} ({str(err).splitlines()[0]})") from None
    model.encoder_id, model.text_format = meta["encoder_id"], meta["text_format"]
    return model.eval()
