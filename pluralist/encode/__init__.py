"""Encoders (text -> float32 vectors) and the embedding cache."""

from .base import TEXT_FORMATS, Encoder, compose_text, get_encoder
from .cache import EmbeddingCache, EmbedStats, default_cache_dir
from .embed import EmbedSpec, TableEmbeddings, embed, embed_table

__all__ = ["TEXT_FORMATS", "Encoder", "compose_text", "get_encoder", "EmbeddingCache",
           "EmbedStats", "default_cache_dir", "EmbedSpec", "TableEmbeddings", "embed", "embed_table"]
