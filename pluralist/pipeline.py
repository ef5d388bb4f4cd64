"""Library-level steps shared by the CLI, the demo and benchmarks:
embed a table, train a family with its adaptation prior, adapt raters, score."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .adapt import choose_adapt_prior, fit_population
from .data.table import ComparisonTable
from .encode import EmbeddingCache, embed_table, get_encoder
from .encode.base import compose_text
from .errors import ModelError
from .models import (PreferenceData, PreferenceModel, RaterProfile, build_model, get_family,
                     load_model, read_model_meta, save_model)
from .train import TrainConfig, TrainResult, fit


def embed(table: ComparisonTable, encoder_name: str, *, text_format: str = "response",
          cache_dir=None, progress: bool = False):
    cache = EmbeddingCache(get_encoder(encoder_name), cache_dir, progress=progress)
    return embed_table(table, cache, text_format=text_format)


def family_options(family: str, rank: int | None, options: dict) -> dict:
    """Merge --rank into the family's own option name."""
    cls = get_family(family)
    if rank is not None:
        if cls.rank_option is None:
            raise ModelError(f"family {family!r} has no rank")
        options = {**options, cls.rank_option: rank}
    return options


def train(data: PreferenceData, rows, family: str, *, options: dict | None = None,
          config: TrainConfig = TrainConfig(), noise: str = "none", noise_rate: float = 0.0
          ) -> tuple[PreferenceModel, TrainResult, dict]:
    """Build, fit (with a label-noise strategy when asked), then choose the new-rater prior."""
    from .noise import make_noise

    torch.manual_seed(config.seed)
    model = build_model(family, dim=data.dim, raters=data.raters, **(options or {}))
    strategy = make_noise(noise, noise_rate, data, model, lr=config.lr)
    result = fit(model, data, np.asarray(rows), config, noise=strategy)
    fit_population(model, data, rows, seed=config.seed)
    prior = choose_adapt_prior(model, data, rows, seed=config.seed)
    return model, result, prior


def train_and_save(table: ComparisonTable, family: str, out: Path, *, encoder_name: str,
                   text_format: str, options: dict, config: TrainConfig, cache_dir=None,
                   noise: str = "none", noise_rate: float = 0.0):
    emb = embed(table, encoder_name, text_format=text_format, cache_dir=cache_dir,
                progress=config.progress)
    data = PreferenceData.from_table(table, emb)
    model, result, prior = train(data, np.arange(len(table)), family, options=options,
                                 config=config, noise=noise, noise_rate=noise_rate)
    summary = {"encoder": encoder_name, "train": {k: v for k, v in asdict(result).items()
                                                  if k != "history"},
               "adapt_prior": prior, "diagnostics": model.diagnostics(),
               "train_config": asdict(config), "comparisons": len(table)}
    save_model(model, out, extra=summary)
    return model, summary


def load_with_encoder(model_dir):
    """The model and the encoder it was trained with (refusing any other)."""
    meta = read_model_meta(model_dir)
    encoder_name = meta.get("extra", {}).get("encoder")
    if not encoder_name:
        raise ModelError(f"{model_dir}: the model does not record its encoder name")
    encoder = get_encoder(encoder_name)
    return load_model(model_dir, encoder_id=encoder.id), encoder_name


def adapt_raters(model_dir, table: ComparisonTable, *, cache_dir=None) -> dict:
    """Fit a profile for every rater in `table`, shared parts frozen."""
    model, encoder_name = load_with_encoder(model_dir)
    emb = embed(table, encoder_name, text_format=model.text_format, cache_dir=cache_dir)
    data = PreferenceData.from_table(table, emb, raters=())
    profiles = {}
    for rater, rows in table.rows_by_rater().items():
        profiles[rater] = asdict(model.adapt(data.batch(rows)))
    return {"model": str(model_dir), "family": model.family, "encoder_id": model.encoder_id,
            "profiles": profiles}


def score(model_dir, rater: str, prompt: str, responses: list[str], *, profile_path=None,
          cache_dir=None) -> tuple[list[float], str]:
    """Rewards of `responses` for `rater`, and which parameters produced them."""
    model, encoder_name = load_with_encoder(model_dir)
    texts = [compose_text(prompt, r, model.text_format) for r in responses]
    cache = EmbeddingCache(get_encoder(encoder_name), cache_dir)
    emb = torch.from_numpy(cache.embed(texts))
    prompt_emb = torch.from_numpy(cache.embed([prompt] * len(texts)))
    with torch.no_grad():
        if rater in model.raters:
            index = torch.full((len(texts),), model.raters.index(rater))
            return model.reward(index, emb, prompt_emb).tolist(), "seen rater"
        profile = _profile_for(profile_path, rater, model)
        if profile is not None:
            return model.reward_adapted(profile, emb, prompt_emb).tolist(), "adapted profile"
        unknown = torch.full((len(texts),), -1)
        return model.reward(unknown, emb, prompt_emb).tolist(), "unknown rater: population reward"


def _profile_for(profile_path, rater, model) -> RaterProfile | None:
    if profile_path is None:
        return None
    profiles = json.loads(Path(profile_path).read_text()).get("profiles", {})
    if rater not in profiles:
        return None
    profile = RaterProfile(**profiles[rater])
    if profile.family != model.family:
        raise ModelError(f"{profile_path}: profile of rater {rater!r} is for family "
                         f"{profile.family!r}, the model is {model.family!r}")
    return profile
