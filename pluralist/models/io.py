"""The one loader (and saver) of trained models: safetensors + config.json, no pickle;
and of the profiles adapted with them.

config.json carries the family, its hyperparameters, the embedding dimension,
the rater vocabulary, the encoder id and text format the model was trained on,
the SHA-256 of the weights file and the library version. Loading with other
embeddings is refused. A model directory only ever replaces a previous model
directory, in one step. Profiles carry the identity of the model they were
adapted with and are refused by any other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
from safetensors import SafetensorError

from ..errors import DataError, ModelError, PluralistError
from ..fileio import staged_directory
from .base import PreferenceModel, RaterProfile
from .data import UNKNOWN_RATER, Batch
from .registry import get_family

FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE)
_META_TYPES = {"family": str, "config": dict, "dim": int, "raters": list, "encoder_id": str,
               "text_format": str}


# --- where a model may be written ---------------------------------------------------

def check_model_out(directory: str | Path) -> Path:
    """`directory` if a model may be written there: it is absent, empty, or a previous
    model directory (a pluralist config.json and nothing but model files). Anything
    else is refused, so that saving a model never removes a user's file."""
    directory = Path(directory)
    for parent in directory.parents:
        if parent.exists() and not parent.is_dir():
            raise ModelError(f"{directory}: cannot be a model directory: {parent} is a file")
    if not directory.exists():
        return directory
    if not directory.is_dir():
        raise ModelError(f"{directory}: exists and is not a directory; a model is a directory")
    try:
        entries = sorted(path.name for path in directory.iterdir())
    except OSError as err:
        raise ModelError(f"{directory}: cannot list it ({err.strerror or err})") from None
    others = [name for name in entries if name not in MODEL_FILES]
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ModelError(f"{directory}: holds {shown}, not a previous model's files; refusing to "
                         "replace it (write the model to a new or empty directory)")
    if entries and not _is_model_config(directory / CONFIG_FILE):
        raise ModelError(f"{directory}: has no pluralist {CONFIG_FILE}, so it is not a previous "
                         "model; refusing to replace it (write the model to a new or empty directory)")
    return directory


def _is_model_config(path: Path) -> bool:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(meta, dict) and "format" in meta and isinstance(meta.get("family"), str)


# --- saving -------------------------------------------------------------------------

def save_model(model: PreferenceModel, directory: str | Path, *, extra: dict | None = None) -> Path:
    """Write the model directory: a reader sees the previous model or the new one.
    Refused before anything is written where `directory` holds anything but a previous
    model (check_model_out) or where a parameter is not finite."""
    directory = check_model_out(directory)
    weights = safetensors.torch.save(_finite_state(model, directory))
    meta = _meta(model, extra, hashlib.sha256(weights).hexdigest())
    with staged_directory(directory) as staging:
        (staging / WEIGHTS_FILE).write_bytes(weights)
        (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        check_model_out(directory)  # again: something may have been put there during training
    return directory


def _finite_state(model: PreferenceModel, directory: Path) -> dict[str, torch.Tensor]:
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    bad = _not_finite(state)
    if bad:
        raise ModelError(f"{directory}: not saved: the model's parameters {bad} are not finite "
                         "(an extreme weight, strength or learning rate?)")
    return state


def _not_finite(state: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, value in state.items()
            if value.is_floating_point() and not bool(torch.isfinite(value).all())]


def _meta(model: PreferenceModel, extra: dict | None, weights_sha256: str) -> dict:
    from .. import __version__

    return {"format": FORMAT_VERSION, "family": model.family,
            "config": dataclasses.asdict(model.config), "dim": model.dim,
            "raters": list(model.raters), "encoder_id": model.encoder_id,
            "text_format": model.text_format, "weights_sha256": weights_sha256,
            "library_version": __version__, "extra": extra or {}}


# --- loading ------------------------------------------------------------------------

def read_model_meta(directory: str | Path) -> dict:
    """config.json, checked: every key a loader needs is there with the right type."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{directory}: not a pluralist model directory (no {CONFIG_FILE})")
    meta = _read_json(path)
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: expected a JSON object, not a pluralist model config")
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{path}: unsupported model format {meta.get('format')!r}")
    for key, kind in _META_TYPES.items():
        if key not in meta:
            raise ModelError(f"{path}: missing key {key!r}")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise ModelError(f"{path}: key {key!r} is not a JSON {kind.__name__}")
    if meta["dim"] < 1:
        raise ModelError(f"{path}: key 'dim' is not a positive integer")
    if not all(isinstance(rater, str) for rater in meta["raters"]):
        raise ModelError(f"{path}: key 'raters' is not a list of rater ids")
    if not isinstance(meta.get("extra", {}), dict):
        raise ModelError(f"{path}: key 'extra' is not a JSON dict")
    return meta


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ModelError(f"{path}: cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise ModelError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}: malformed JSON ({err.msg} at line {err.lineno} "
                         f"column {err.colno})") from None


def load_model(directory: str | Path, *, encoder_id: str | None = None) -> PreferenceModel:
    """Rebuild a model; with `encoder_id`, refuse embeddings other than the training ones."""
    directory = Path(directory)
    meta = read_model_meta(directory)
    if encoder_id is not None and encoder_id != meta["encoder_id"]:
        raise ModelError(f"{directory}: model was trained on embeddings from {meta['encoder_id']!r}, "
                         f"not {encoder_id!r}; use the encoder it was trained with")
    model = _build(directory / CONFIG_FILE, meta)
    path = directory / WEIGHTS_FILE
    try:
        model.load_state_dict(safetensors.torch.load(_read_weights(path, meta)))
    except (SafetensorError, RuntimeError, ValueError) as err:
        raise ModelError(f"{path}: cannot load it ({_first_line(err)})") from None
    bad = _not_finite(model.state_dict())
    if bad:
        raise ModelError(f"{path}: the parameters {bad} are not finite in float32; the model is damaged")
    model.encoder_id, model.text_format = meta["encoder_id"], meta["text_format"]
    return model.eval()


def _build(path: Path, meta: dict) -> PreferenceModel:
    """An untrained model of the config's family, options, dimension and raters."""
    try:
        cls = get_family(meta["family"])
    except ModelError as err:
        raise ModelError(f"{path}: {err}") from None
    try:
        config = cls.Config(**meta["config"])
        return cls(config, dim=meta["dim"], raters=tuple(meta["raters"]))
    except (PluralistError, TypeError, ValueError, RuntimeError, OverflowError) as err:
        raise ModelError(f"{path}: its {meta['family']} model cannot be built "
                         f"({_first_line(err)})") from None


def _read_weights(path: Path, meta: dict) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelError(f"{path}: cannot read ({err.strerror or err})") from None
    expected = meta.get("weights_sha256")
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise ModelError(f"{path}: does not match {CONFIG_FILE} (damaged, or another model's weights)")
    return data


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# --- profiles -----------------------------------------------------------------------

def model_identity(model: PreferenceModel) -> dict:
    """What a profile must agree with to be used with `model`. The fingerprint covers
    the config and every parameter: a profile adapted against one model's shared
    parts means nothing against another's, even of the same family and size."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(model.config), sort_keys=True).encode())
    digest.update(safetensors.torch.save({k: v.detach().contiguous()
                                          for k, v in model.state_dict().items()}))
    return {"family": model.family, "encoder_id": model.encoder_id,
            "text_format": model.text_format, "dim": model.dim, "fingerprint": digest.hexdigest()}


def profile_document(model: PreferenceModel, model_dir, profiles: dict[str, RaterProfile]) -> dict:
    """The JSON `pluralist adapt` writes; each profile is checked as `score` will check it."""
    shapes = _profile_shapes(model)
    checked = {rater: _checked_profile(str(model_dir), rater, dataclasses.asdict(profile), model, shapes)
               for rater, profile in profiles.items()}
    return {"model": str(model_dir), "family": model.family, "encoder_id": model.encoder_id,
            "model_identity": model_identity(model),
            "profiles": {rater: dataclasses.asdict(p) for rater, p in checked.items()}}


def read_profile(path, rater: str, model: PreferenceModel, model_dir) -> RaterProfile | None:
    """`rater`'s profile from a file of `pluralist adapt`, or None where it has none;
    refused where the file was made with another model or is malformed."""
    doc = _read_json(Path(path))
    if not isinstance(doc, dict):
        raise DataError("expected a JSON object of profiles from pluralist adapt", source=str(path))
    _check_identity(path, doc, model, model_dir)
    profiles = doc.get("profiles")
    if not isinstance(profiles, dict):
        raise DataError("expected an object of profiles by rater", source=str(path), field="profiles")
    if rater not in profiles:
        return None
    return _checked_profile(str(path), rater, profiles[rater], model, _profile_shapes(model))


def _check_identity(path, doc: dict, model: PreferenceModel, model_dir) -> None:
    found, expected = doc.get("model_identity"), model_identity(model)
    again = f"adapt the raters again with {model_dir}"
    if not isinstance(found, dict):
        raise ModelError(f"{path}: records no model identity (not made by this pluralist's adapt); {again}")
    for key, what in (("family", "family"), ("encoder_id", "embeddings"),
                      ("text_format", "text format"), ("dim", "embedding dimension")):
        if found.get(key) != expected[key]:
            raise ModelError(f"{path}: made with a model of {what} {found.get(key)!r}, but "
                             f"{model_dir} has {expected[key]!r}; {again}")
    if found.get("fingerprint") != expected["fingerprint"]:
        raise ModelError(f"{path}: made with another model than {model_dir} (the same family and "
                         f"embeddings, other parameters: retrained?); {again}")


def _profile_shapes(model: PreferenceModel) -> dict[str, int]:
    """The keys and lengths of the profiles `model` adapts. Families do not declare
    them, so they are read off the adaptation of one made-up comparison."""
    one = torch.ones(1, model.dim) / model.dim ** 0.5
    batch = Batch(one, torch.zeros(1, model.dim), torch.zeros(1, dtype=torch.long), one,
                  torch.full((1,), UNKNOWN_RATER), torch.zeros(1, dtype=torch.bool),
                  torch.zeros(1), torch.ones(1))
    with torch.no_grad():
        return {key: len(value) for key, value in model.adapt(batch).values.items()}


def _checked_profile(source: str, rater: str, raw, model: PreferenceModel,
                     shapes: dict[str, int]) -> RaterProfile:
    where = f"profile of rater {rater!r}"
    if not isinstance(raw, dict) or set(raw) - {"family", "values", "comparisons"}:
        raise DataError("expected an object with family, values and comparisons only",
                        source=source, where=where)
    if raw.get("family") != model.family:
        raise DataError(f"{raw.get('family')!r} is not the model's family {model.family!r}",
                        source=source, where=where, field="family")
    count = raw.get("comparisons", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise DataError(f"expected a count of comparisons, got {count!r}", source=source,
                        where=where, field="comparisons")
    values = raw.get("values")
    if not isinstance(values, dict) or set(values) != set(shapes):
        raise DataError(f"expected an object with the keys {sorted(shapes)}", source=source,
                        where=where, field="values")
    return RaterProfile(model.family, {key: _finite_list(values[key], length, source, where,
                                                         f"values.{key}")
                                       for key, length in shapes.items()}, count)


def _finite_list(value, length: int, source: str, where: str, field: str) -> list[float]:
    """`value` as `length` numbers, each finite in float32 (the precision rewards use)."""
    if (not isinstance(value, list) or len(value) != length
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise DataError(f"expected a list of {length} numbers", source=source, where=where, field=field)
    try:
        with np.errstate(over="ignore"):
            finite = np.isfinite(np.asarray(value, dtype=np.float64).astype(np.float32)).all()
    except OverflowError:  # an integer beyond any float
        finite = False
    if not finite:
        raise DataError("not finite in float32", source=source, where=where, field=field)
    return [float(v) for v in value]
