"""Robustness to raters: reversal gains against the other raters, position bias, and the
per-rater reliability flags built on them."""

from .reliability import FLAGS, RaterReliability, Reliability, rater_reliability

__all__ = ["FLAGS", "RaterReliability", "Reliability", "rater_reliability"]
