"""`pluralist data check`: what a comparison table holds, and what is odd in it."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import numpy as np

from .columnar import CodedComparisons, coded_parquet
from .table import ComparisonTable


def check_summary(table: ComparisonTable) -> dict:
    """coded_summary of the table's coded form: one implementation for rows and Parquet."""
    return coded_summary(coded_table(table))


def coded_table(table: ComparisonTable) -> CodedComparisons:
    """The table as codes by first appearance (dict lookups: equal codes exactly where the
    old Counter and set keys were equal); chosen and rejected share one vocabulary."""
    texts = _vocabulary(table.chosen, table.rejected)
    raters, prompts = _vocabulary(table.rater), _vocabulary(table.prompt)
    return CodedComparisons(
        rater=_codes(table.rater, raters), prompt=_codes(table.prompt, prompts),
        chosen=_codes(table.chosen, texts), rejected=_codes(table.rejected, texts),
        tie=np.asarray(table.tie, dtype=bool), raters=len(raters), prompts=len(prompts),
        texts=len(texts), groups=sorted(set(table.group.tolist()) - {""}))


def _vocabulary(*columns) -> dict:
    distinct = dict.fromkeys(chain.from_iterable(column.tolist() for column in columns))
    return dict(zip(distinct, range(len(distinct))))


def _codes(column: np.ndarray, vocabulary: dict) -> np.ndarray:
    return np.fromiter(map(vocabulary.__getitem__, column.tolist()), dtype=np.int64, count=len(column))


def check_file(path: str, *, rater_column: str | None = None) -> dict:
    """check_summary of a comparison file; Parquet files are read column by column
    (columnar.py) without a Python object per row, giving the same summary and errors."""
    from .io import read_comparisons

    # by name, as io.detect_format; anything else (a missing file, .gz) as before
    coded = coded_parquet(path, rater_column=rater_column) \
        if str(path).lower().endswith(".parquet") and Path(path).is_file() else None
    if coded is None:
        return check_summary(read_comparisons(path, rater_column=rater_column))
    return coded_summary(coded)


def coded_summary(coded) -> dict:
    """check_summary from integer codes (columnar.CodedComparisons). Sorts, not np.unique:
    with numpy 2.4 its hashing path is many times slower than np.sort on int64 codes."""
    per_rater = np.bincount(coded.rater, minlength=coded.raters)
    judgement, raters = _judgements(coded)
    judged = _distinct(judgement[~coded.tie])   # sorted
    return {
        "rows": len(coded.rater),
        "raters": coded.raters,
        "groups": coded.groups,
        "prompts": coded.prompts,
        "distinct_texts": coded.texts,
        "comparisons_per_rater": {"min": int(per_rater.min()), "median": float(np.median(per_rater)),
                                  "max": int(per_rater.max())},
        "ties": int(coded.tie.sum()),
        "duplicate_comparisons": len(judgement) - len(_distinct(judgement)),
        "contradictory_duplicates": int(_both_ways(judged).sum()),
        **_coded_agreement(judgement[~coded.tie], judged, raters),
    }


def _judgements(coded) -> tuple[np.ndarray, int]:
    """(N,) int64 codes 2 * judge + (chosen is the pair's smaller text code), where a judge
    code = item * raters + rater and an item code stands for (prompt, unordered pair).
    Equal (rater, prompt, chosen, rejected) <=> equal code, as chosen != rejected."""
    low = np.minimum(coded.chosen, coded.rejected).astype(np.int64)
    high = np.maximum(coded.chosen, coded.rejected).astype(np.int64)
    pair, pairs = _dense(low * coded.texts + high)   # texts**2 may be near 2**63 / N
    item, items = pair + coded.prompt.astype(np.int64) * pairs, pairs * coded.prompts
    if items * coded.raters * 2 >= 2 ** 63:
        item, items = _dense(item)
    judge = item * coded.raters + coded.rater
    return 2 * judge + (coded.chosen < coded.rejected), coded.raters


def _distinct(codes) -> np.ndarray:
    ordered = np.sort(codes)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) \
        else ordered


def _dense(codes) -> tuple[np.ndarray, int]:
    """Codes renumbered 0..k-1 in the same order, and k."""
    order = np.argsort(codes)
    ordered = codes[order]
    step = np.concatenate([[False], ordered[1:] != ordered[:-1]])
    dense = np.empty(len(codes), dtype=np.int64)
    dense[order] = np.cumsum(step)
    return dense, int(step.sum()) + 1 if len(codes) else 0


def _both_ways(judged) -> np.ndarray:
    """Over sorted distinct judgements: True at the first of a judge's two directions."""
    judges = judged >> 1
    return np.concatenate([judges[1:] == judges[:-1], [False]])[:len(judged)]


def _coded_agreement(judgement, judged, raters: int) -> dict:
    """As _agreement: on non-tie rows, each rater's first judgement of an item counts.
    `judged` are the sorted distinct judgements; where a judge has both directions, the
    direction of its first row (few rows: found by binary search) decides."""
    if not len(judged):
        return {"pairs_judged_by_several_raters": 0, "inter_rater_agreement": None}
    twice = _both_ways(judged)
    judges, smaller_won = judged >> 1, (judged & 1).astype(bool)
    keep = ~np.concatenate([[False], twice[:-1]])   # one entry per judge
    contested = judges[twice]
    if len(contested):
        rows = np.flatnonzero(_member(judgement >> 1, contested))
        first = rows[_first_of_each(judgement[rows] >> 1)]
        at = np.searchsorted(judges, judgement[first] >> 1)   # the first of the two entries
        smaller_won[at] = (judgement[first] & 1).astype(bool)
    item, smaller_won = judges[keep] // raters, smaller_won[keep]
    starts = np.flatnonzero(np.concatenate([[True], item[1:] != item[:-1]]))
    n = np.diff(np.append(starts, len(item))).astype(np.int64)
    k = np.add.reduceat(smaller_won.astype(np.int64), starts)
    several = n >= 2
    n, k = n[several], k[several]
    agree = int((k * (k - 1) // 2 + (n - k) * (n - k - 1) // 2).sum())
    total = int((n * (n - 1) // 2).sum())
    return {"pairs_judged_by_several_raters": int(several.sum()),
            "inter_rater_agreement": round(agree / total, 4) if total else None}


def _member(values, sorted_set) -> np.ndarray:
    """values in sorted_set (small). A table of the set's low 24 bits picks the few
    candidates first, rather than a binary search for each of ten million values."""
    low = (1 << 24) - 1
    table = np.zeros(low + 1, dtype=bool)
    table[sorted_set & low] = True
    candidates = np.flatnonzero(table[values & low])
    at = np.minimum(np.searchsorted(sorted_set, values[candidates]), len(sorted_set) - 1)
    member = np.zeros(len(values), dtype=bool)
    member[candidates] = sorted_set[at] == values[candidates]
    return member


def _first_of_each(codes) -> np.ndarray:
    """Positions of each distinct code's first occurrence."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    return order[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
