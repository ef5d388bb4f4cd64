"""Embed a comparison table: every distinct text once, through the cache."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.table import ComparisonTable
from .base import check_encoder_name, compose_text, concrete_encoder_name, get_encoder
from .cache import EmbeddingCache, EmbedStats, check_cache_root
from .device import split_device, with_device
from .engine import EngineSpec


@dataclass(frozen=True)
class EmbedSpec:
    """Which embeddings: the encoder's name, how a text is composed from prompt and
    response, the cache root (None: $PLURALIST_CACHE or ~/.cache/pluralist), where
    missing texts are embedded (this process, or a Ray cluster), and the device
    ('auto', 'cpu', 'cuda'; None: as the name says, for a model's recorded name).

    Once built, `encoder` is the name with its device ('minilm@cuda' where auto found a
    GPU; device.py), the name a trained model records."""

    encoder: str = "minilm"
    text_format: str = "response"
    cache_dir: str | None = None
    engine: EngineSpec = EngineSpec()
    device: str | None = "auto"

    def __post_init__(self):
        # Each part is checked here, so a command refuses a bad one before any work.
        check_encoder_name(self.encoder)
        object.__setattr__(self, "encoder", self._placed_encoder())
        compose_text("", "", self.text_format)
        check_cache_root(self.cache_dir)

    def _placed_encoder(self) -> str:
        if self.device is None and split_device(self.encoder)[1] == "cpu":
            return self.encoder     # a recorded CPU name stays on the CPU
        ray_gpus = self.engine.gpus_per_worker if self.engine.engine == "ray" else None
        return with_device(self.encoder, self.device or "auto", ray_gpus=ray_gpus)

    def cache(self, *, progress: bool = False) -> EmbeddingCache:
        return EmbeddingCache(get_encoder(self.encoder), self.cache_dir, progress=progress,
                              engine=self.engine, encoder_name=concrete_encoder_name(self.encoder))


@dataclass(frozen=True, eq=False)
class TableEmbeddings:
    """Row-aligned indices into one matrix of distinct vectors."""

    vectors: np.ndarray      # (T, D) float32, distinct composed texts and prompts
    chosen: np.ndarray       # (N,) int64 row of vectors
    rejected: np.ndarray     # (N,) int64
    prompt: np.ndarray       # (N,) int64, the prompt's own embedding (used by routers)
    encoder_id: str
    text_format: str
    stats: EmbedStats


def embed_table(table: ComparisonTable, cache: EmbeddingCache, *,
                text_format: str = "response") -> TableEmbeddings:
    chosen = [compose_text(p, c, text_format) for p, c in zip(table.prompt, table.chosen)]
    rejected = [compose_text(p, r, text_format) for p, r in zip(table.prompt, table.rejected)]
    prompts = table.prompt.tolist()
    distinct = list(dict.fromkeys(chosen + rejected + prompts))
    position = {text: i for i, text in enumerate(distinct)}
    vectors = cache.embed(distinct)

    def rows(texts: list[str]) -> np.ndarray:
        return np.fromiter((position[t] for t in texts), dtype=np.int64, count=len(texts))

    return TableEmbeddings(vectors, rows(chosen), rows(rejected), rows(prompts),
                           cache.encoder.id, text_format, cache.last_stats)


def embed(table: ComparisonTable, spec: EmbedSpec, *, progress: bool = False) -> TableEmbeddings:
    """Every distinct text of `table` embedded as `spec` says, through its cache."""
    return embed_table(table, spec.cache(progress=progress), text_format=spec.text_format)
