"""Honest evaluation: the seen/unseen protocol with k-shot curves, and the report."""

from .protocol import SHOTS, Benchmark, EvalConfig, compare, evaluate_model
from .report import markdown_summary, write_report

__all__ = ["SHOTS", "Benchmark", "EvalConfig", "compare", "evaluate_model", "markdown_summary",
           "write_report"]
