"""Seeded splits into seen and unseen raters.

Seen raters: their comparisons are divided into a training part and a held-out
test part. Unseen raters: none of their comparisons is trained on; each has a
k-shot pool (the comparisons a new person would give us to adapt on) and a
disjoint test pool. All parts are index arrays into the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .table import ComparisonTable


@dataclass(frozen=True)
class Split:
    train: np.ndarray         # rows of seen raters used for training
    seen_test: np.ndarray     # held-out rows of seen raters
    unseen_pool: np.ndarray   # rows of unseen raters available for adaptation
    unseen_test: np.ndarray   # rows of unseen raters used only for testing
    seen_raters: tuple[str, ...]
    unseen_raters: tuple[str, ...]
    seed: int

    def summary(self) -> dict:
        return {"seed": self.seed, "seen_raters": len(self.seen_raters),
                "unseen_raters": len(self.unseen_raters),
                **{name: int(len(getattr(self, name)))
                   for name in ("train", "seen_test", "unseen_pool", "unseen_test")}}


def split_raters(table: ComparisonTable, *, unseen: float | int = 0.25, test_fraction: float = 0.2,
                 pool_fraction: float = 0.5, seed: int = 0) -> Split:
    """`unseen`: a fraction (< 1) or a count of raters held out entirely."""
    rng = np.random.default_rng(seed)
    raters = np.array(table.raters, dtype=object)
    n_unseen = int(round(unseen * len(raters))) if isinstance(unseen, float) and unseen < 1 \
        else int(unseen)
    if not 0 <= n_unseen < len(raters):
        raise DataError(f"cannot hold out {n_unseen} of {len(raters)} raters as unseen "
                        "(at least one rater must stay seen)")
    unseen_set = set(rng.permutation(raters)[:n_unseen].tolist())
    parts = {"train": [], "seen_test": [], "unseen_pool": [], "unseen_test": []}
    for rater, rows in table.rows_by_rater().items():
        rows = rng.permutation(rows)
        if rater in unseen_set:
            cut = int(round(pool_fraction * len(rows)))
            parts["unseen_pool"].append(rows[:cut])
            parts["unseen_test"].append(rows[cut:])
        else:
            cut = len(rows) - int(round(test_fraction * len(rows)))
            parts["train"].append(rows[:cut])
            parts["seen_test"].append(rows[cut:])
    arrays = {k: np.sort(np.concatenate(v)) if v else np.zeros(0, dtype=np.int64)
              for k, v in parts.items()}
    return Split(**arrays, seen_raters=tuple(sorted(set(raters.tolist()) - unseen_set)),
                 unseen_raters=tuple(sorted(unseen_set)), seed=seed)


def split_known(table: ComparisonTable, seen_raters, *, pool_fraction: float = 0.5,
                seed: int = 0) -> Split:
    """For a separate test file: raters a model knows are seen (all their rows are test
    rows); every other rater is unseen, with a k-shot pool and a disjoint test part."""
    rng = np.random.default_rng(seed)
    seen_set = set(seen_raters)
    parts = {"seen_test": [], "unseen_pool": [], "unseen_test": []}
    for rater, rows in table.rows_by_rater().items():
        if rater in seen_set:
            parts["seen_test"].append(rows)
            continue
        rows = rng.permutation(rows)
        cut = int(round(pool_fraction * len(rows)))
        parts["unseen_pool"].append(rows[:cut])
        parts["unseen_test"].append(rows[cut:])
    arrays = {k: np.sort(np.concatenate(v)) if v else np.zeros(0, dtype=np.int64)
              for k, v in parts.items()}
    present = set(table.rater.tolist())
    return Split(train=np.zeros(0, dtype=np.int64), **arrays,
                 seen_raters=tuple(sorted(seen_set & present)),
                 unseen_raters=tuple(sorted(present - seen_set)), seed=seed)
