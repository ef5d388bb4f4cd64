"""Seeded splits into seen and unseen raters.

Seen raters: their comparisons are divided into a training part and a held-out
test part. Unseen raters: none of their comparisons is trained on; each has a
k-shot pool (the comparisons a new person would give us to adapt on) and a
disjoint test pool. Held-out parts share no text with the same rater's other
part (holdout.py); comparisons that would link the two are dropped and counted.
All parts are index arrays into the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from .holdout import HOLDOUTS, holdout
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
    held_out_by: str = "texts"   # or "pairs" (HOLDOUTS)
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # rows linking the parts

    def summary(self) -> dict:
        return {"seed": self.seed, "seen_raters": len(self.seen_raters),
                "unseen_raters": len(self.unseen_raters), "held_out_by": self.held_out_by,
                **{name: int(len(getattr(self, name)))
                   for name in ("train", "seen_test", "unseen_pool", "unseen_test", "dropped")}}


def text_ids(table: ComparisonTable) -> tuple[np.ndarray, np.ndarray]:
    """(N,) integer ids of each row's chosen and rejected text (equal texts, equal ids)."""
    _, index = np.unique(np.concatenate([table.chosen, table.rejected]).astype(str),
                         return_inverse=True)
    return index[:len(table)], index[len(table):]


def _check_holdout(by: str) -> None:
    if by not in HOLDOUTS:
        raise DataError(f"unknown hold-out {by!r}; choose from {', '.join(HOLDOUTS)}")


def split_raters(table: ComparisonTable, *, unseen: float | int = 0.25, test_fraction: float = 0.2,
                 pool_fraction: float = 0.5, seed: int = 0, by: str = "texts") -> Split:
    """`unseen`: a fraction (< 1) or a count of raters held out entirely; `by`: hold out
    texts (no held-out comparison shares a text with the rater's other part) or pairs."""
    _check_holdout(by)
    rng = np.random.default_rng(seed)
    raters = np.array(table.raters, dtype=object)
    n_unseen = int(round(unseen * len(raters))) if isinstance(unseen, float) and unseen < 1 \
        else int(unseen)
    if not 0 <= n_unseen < len(raters):
        raise DataError(f"cannot hold out {n_unseen} of {len(raters)} raters as unseen "
                        "(at least one rater must stay seen)")
    unseen_set = set(rng.permutation(raters)[:n_unseen].tolist())
    is_unseen = np.isin(table.rater.astype(object), list(unseen_set))
    rows, (chosen, rejected) = np.arange(len(table)), text_ids(table)
    train, seen_test, dropped_seen = holdout(rows[~is_unseen], table.rater, chosen, rejected,
                                             test_fraction, rng, by=by)
    pool, test, dropped_unseen = holdout(rows[is_unseen], table.rater, chosen, rejected,
                                         1 - pool_fraction, rng, by=by)
    return Split(train, seen_test, pool, test,
                 seen_raters=tuple(sorted(set(raters.tolist()) - unseen_set)),
                 unseen_raters=tuple(sorted(unseen_set)), seed=seed, held_out_by=by,
                 dropped=np.sort(np.concatenate([dropped_seen, dropped_unseen])))


def split_known(table: ComparisonTable, seen_raters, *, pool_fraction: float = 0.5,
                seed: int = 0, by: str = "texts") -> Split:
    """For a separate test file: raters a model knows are seen (all their rows are test
    rows); every other rater is unseen, with a k-shot pool and a disjoint test part."""
    _check_holdout(by)
    rng = np.random.default_rng(seed)
    seen_set = set(seen_raters)
    is_seen = np.isin(table.rater.astype(object), list(seen_set))
    rows, (chosen, rejected) = np.arange(len(table)), text_ids(table)
    pool, test, dropped = holdout(rows[~is_seen], table.rater, chosen, rejected,
                                  1 - pool_fraction, rng, by=by)
    present = set(table.rater.tolist())
    return Split(train=np.zeros(0, dtype=np.int64), seen_test=rows[is_seen], unseen_pool=pool,
                 unseen_test=test, seen_raters=tuple(sorted(seen_set & present)),
                 unseen_raters=tuple(sorted(present - seen_set)), seed=seed, held_out_by=by,
                 dropped=dropped)
