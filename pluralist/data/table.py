"""ComparisonTable: the one validated, columnar form of preference data.

Each row says that `rater` preferred `chosen` over `rejected` as answers to
`prompt` (or judged them equal when `tie`). Everything downstream (splits,
encoding, training, evaluation) reads this type and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

TEXT_COLUMNS = ("rater", "prompt", "chosen", "rejected", "group", "id")
REQUIRED_COLUMNS = ("rater", "chosen", "rejected")
ANONYMOUS_RATER = "population"


@dataclass(frozen=True, eq=False)
class ComparisonTable:
    """Columns of equal length N. Strings are numpy object arrays.

    rater (N,) str; prompt (N,) str, "" when absent; chosen, rejected (N,) str;
    tie (N,) bool; strength (N,) float >= 0, 0 = no margin (Llama-2 style);
    weight (N,) float > 0; group (N,) str, "" when unknown; id (N,) str;
    chosen_first (N,) int8: 1 the chosen response was shown first, 0 the
    rejected one was, -1 unknown (for position-bias checks).
    """

    rater: np.ndarray
    prompt: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    tie: np.ndarray
    strength: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    id: np.ndarray
    chosen_first: np.ndarray

    @classmethod
    def from_columns(cls, *, rater, chosen, rejected, prompt=None, tie=None,
                     strength=None, weight=None, group=None, id=None,
                     chosen_first=None) -> "ComparisonTable":
        """Build from sequences; absent optional columns get their neutral defaults."""
        n = len(chosen)
        return cls(
            rater=_text_array(rater),
            prompt=_text_array(prompt if prompt is not None else [""] * n),
            chosen=_text_array(chosen),
            rejected=_text_array(rejected),
            tie=np.asarray(tie if tie is not None else np.zeros(n), dtype=bool),
            strength=np.asarray(strength if strength is not None else np.zeros(n), dtype=np.float64),
            weight=np.asarray(weight if weight is not None else np.ones(n), dtype=np.float64),
            group=_text_array(group if group is not None else [""] * n),
            id=_text_array(id if id is not None else [str(i) for i in range(n)]),
            chosen_first=np.asarray(chosen_first if chosen_first is not None else np.full(n, -1),
                                    dtype=np.int8),
        )

    def __post_init__(self):
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns differ in length: {lengths}")

    def __len__(self) -> int:
        return len(self.chosen)

    def take(self, rows) -> "ComparisonTable":
        """The rows at the given indices (or boolean mask), in that order."""
        return ComparisonTable(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def raters(self) -> list[str]:
        """Distinct rater ids, sorted."""
        return sorted(set(self.rater.tolist()))

    @property
    def has_groups(self) -> bool:
        return bool(np.any(self.group != ""))

    def texts(self) -> list[str]:
        """Distinct response texts, in order of first appearance."""
        return list(dict.fromkeys(np.concatenate([self.chosen, self.rejected]).tolist()))

    def rows_by_rater(self, rows=None) -> dict[str, np.ndarray]:
        """rater -> its row indices (among `rows`, default all), in increasing order."""
        rows = np.arange(len(self)) if rows is None else np.sort(np.asarray(rows, dtype=np.int64))
        raters = self.rater[rows]
        order = np.argsort(raters, kind="stable")
        keys, starts = np.unique(raters[order], return_index=True)
        return dict(zip(keys.tolist(), np.split(rows[order], starts[1:])))

    def deduplicate(self) -> "ComparisonTable":
        """Drop exact repeats of (rater, prompt, chosen, rejected, tie), keeping the first."""
        seen, keep = set(), []
        for i, key in enumerate(zip(self.rater, self.prompt, self.chosen, self.rejected, self.tie)):
            if key not in seen:
                seen.add(key)
                keep.append(i)
        return self.take(np.asarray(keep, dtype=np.int64))

    @staticmethod
    def concat(tables: list["ComparisonTable"]) -> "ComparisonTable":
        names = [f.name for f in fields(ComparisonTable)]
        return ComparisonTable(**{n: np.concatenate([getattr(t, n) for t in tables]) for n in names})


def _text_array(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [str(v) for v in values]
    return out
