"""Comparison data: one validated table, its readers, writers, converters and splits."""

from .check import check_summary
from .convert import read_rankings, read_ratings, rankings_to_pairs, ratings_to_pairs
from .io import from_dataset, read_comparisons, write_comparisons
from .split import Split, split_raters
from .synthetic import SynthConfig, SyntheticBenchmark, generate
from .table import ComparisonTable

__all__ = ["ComparisonTable", "read_comparisons", "write_comparisons", "from_dataset",
           "read_ratings", "read_rankings", "ratings_to_pairs", "rankings_to_pairs",
           "Split", "split_raters", "SynthConfig", "SyntheticBenchmark", "generate",
           "check_summary"]
