"""pluralist: reward models that respect how people differ."""

from .data import (ComparisonTable, Split, SynthConfig, check_summary, from_dataset, generate,
                   read_comparisons, read_rankings, read_ratings, split_raters,
                   write_comparisons)
from .encode import EmbeddingCache, embed_table, get_encoder
from .errors import DataError, EncoderError, ModelError, PluralistError

__version__ = "0.1.0"

__all__ = ["ComparisonTable", "Split", "SynthConfig", "check_summary", "from_dataset",
           "generate", "read_comparisons", "read_rankings", "read_ratings", "split_raters",
           "write_comparisons", "EmbeddingCache", "embed_table", "get_encoder",
           "DataError", "EncoderError", "ModelError", "PluralistError", "__version__"]
