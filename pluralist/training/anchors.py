"""Anchor points: the comparisons a model is surest about, where its clean label is all
but certain, so the share of labels against the model there estimates the flip rate
whatever the scale of its margins (Scott, Blanchard & Handy, 2013, "Classification with
Asymmetric Label Noise: Consistency and Maximal Denoising"; Liu & Tao, 2016,
"Classification with Noisy Labels by Importance Reweighting"). Used by EM here and by
the rater reliability flags in robust/.
"""

from __future__ import annotations

import numpy as np

ANCHOR_SHARE = 0.1   # of a set of comparisons, the tenth with the largest margins


def anchors(margin: np.ndarray, share: float = ANCHOR_SHARE) -> np.ndarray:
    """Indices of the `share` of comparisons with the largest |margin| (at least one)."""
    n = max(1, int(round(share * len(margin))))
    return np.argsort(-np.abs(margin), kind="stable")[:n]


def anchor_flip_rate(margin: np.ndarray, share: float = ANCHOR_SHARE) -> tuple[float, int]:
    """(labels against the model on the anchors / anchors, anchors); `margin` is the
    held-out margin of each recorded label (negative: the model prefers the other)."""
    if len(margin) == 0:
        return 0.0, 0
    picked = anchors(margin, share)
    return float((margin[picked] < 0).mean()), len(picked)
