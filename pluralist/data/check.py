"""`pluralist data check`: what a comparison table holds, and what is odd in it."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .table import ComparisonTable


def check_summary(table: ComparisonTable) -> dict:
    per_rater = np.array(list(Counter(table.rater.tolist()).values()))
    return {
        "rows": len(table),
        "raters": len(per_rater),
        "groups": sorted(set(table.group.tolist()) - {""}),
        "prompts": len(set(table.prompt.tolist())),
        "distinct_texts": len(table.texts()),
        "comparisons_per_rater": {"min": int(per_rater.min()), "median": float(np.median(per_rater)),
                                  "max": int(per_rater.max())},
        "ties": int(table.tie.sum()),
        "duplicate_comparisons": _duplicates(table),
        "contradictory_duplicates": _contradictions(table),
        **_agreement(table),
    }


def _duplicates(table: ComparisonTable) -> int:
    """Rows repeating an earlier (rater, prompt, chosen, rejected)."""
    keys = zip(table.rater, table.prompt, table.chosen, table.rejected)
    return sum(count - 1 for count in Counter(keys).values())


def _contradictions(table: ComparisonTable) -> int:
    """(rater, prompt, pair) judged in both directions by the same rater."""
    directions = defaultdict(set)
    for rater, prompt, chosen, rejected, tie in zip(table.rater, table.prompt, table.chosen,
                                                    table.rejected, table.tie):
        if not tie:
            directions[rater, prompt, frozenset((chosen, rejected))].add(chosen)
    return sum(len(winners) > 1 for winners in directions.values())


def _agreement(table: ComparisonTable) -> dict:
    """Between raters, on pairs several raters judged: the share of rater pairs agreeing."""
    winners: dict[tuple, dict[str, str]] = defaultdict(dict)
    for rater, prompt, chosen, rejected, tie in zip(table.rater, table.prompt, table.chosen,
                                                    table.rejected, table.tie):
        if not tie:
            winners[prompt, frozenset((chosen, rejected))].setdefault(rater, chosen)
    agree = total = shared = 0
    for by_rater in winners.values():
        if len(by_rater) < 2:
            continue
        shared += 1
        counts = Counter(by_rater.values())
        n = len(by_rater)
        agree += sum(c * (c - 1) // 2 for c in counts.values())
        total += n * (n - 1) // 2
    return {"pairs_judged_by_several_raters": shared,
            "inter_rater_agreement": round(agree / total, 4) if total else None}


def check_file(path: str, *, rater_column: str | None = None) -> dict:
    """check_summary of a comparison file; Parquet files are read column by column
    (columnar.py) without a Python object per row, giving the same summary and errors."""
    from .columnar import coded_parquet
    from .io import detect_format, read_comparisons

    coded = coded_parquet(path, rater_column=rater_column) \
        if detect_format(path) == "parquet" else None
    if coded is None:
        return check_summary(read_comparisons(path, rater_column=rater_column))
    return coded_summary(coded)


def coded_summary(coded) -> dict:
    """check_summary from integer codes (columnar.CodedComparisons), with sorts in numpy."""
    per_rater = np.bincount(coded.rater, minlength=coded.raters)
    keys = _pair_keys(coded)
    return {
        "rows": len(coded.rater),
        "raters": coded.raters,
        "groups": coded.groups,
        "prompts": coded.prompts,
        "distinct_texts": coded.texts,
        "comparisons_per_rater": {"min": int(per_rater.min()), "median": float(np.median(per_rater)),
                                  "max": int(per_rater.max())},
        "ties": int(coded.tie.sum()),
        "duplicate_comparisons": len(coded.rater) - len(np.unique(keys.judgement)),
        "contradictory_duplicates": _coded_contradictions(keys.judgement[~coded.tie]),
        **_coded_agreement(keys, ~coded.tie),
    }


class _PairKeys:
    """Per row: `item` codes (prompt, unordered pair), `judge` codes (item, rater) and
    `judgement` = 2 * judge + (chosen is the pair's smaller code): equal (rater, prompt,
    chosen, rejected) <=> equal judgement, since chosen != rejected in a valid table."""

    def __init__(self, item, judge, judgement):
        self.item, self.judge, self.judgement = item, judge, judgement


def _pair_keys(coded) -> _PairKeys:
    low = np.minimum(coded.chosen, coded.rejected)
    high = np.maximum(coded.chosen, coded.rejected)
    pair, pairs = _pack(low, coded.texts, high, coded.texts)
    item, items = _pack(coded.prompt, coded.prompts, pair, pairs)
    judge, _ = _pack(item, items, coded.rater, coded.raters)
    return _PairKeys(item, judge, 2 * judge + (coded.chosen < coded.rejected))


def _pack(a, a_size: int, b, b_size: int):  # 2**61: 2 * code + 1 still fits in int64
    """One int64 code per (a, b), order-preserving; re-numbered densely (a sort) only
    where the product of the sizes would not fit."""
    if a_size * b_size >= 2 ** 61:
        a, a_size = _dense(a)
        b, b_size = _dense(b)
    return a.astype(np.int64) * b_size + b, a_size * b_size


def _dense(codes):
    distinct, inverse = np.unique(codes, return_inverse=True)
    return inverse.reshape(-1), len(distinct)


def _coded_contradictions(judgements) -> int:
    """Judges (rater, prompt, pair) with both directions among their non-tie rows."""
    distinct = np.unique(judgements)
    judges = distinct >> 1
    return int(np.count_nonzero(judges[1:] == judges[:-1]))


def _coded_agreement(keys: _PairKeys, not_tie) -> dict:
    """As _agreement: each rater's first non-tie judgement of an item counts."""
    judge, item = keys.judge[not_tie], keys.item[not_tie]
    smaller_won = (keys.judgement[not_tie] & 1).astype(bool)
    _, first = np.unique(judge, return_index=True)
    _, owner, raters = np.unique(item[first], return_inverse=True, return_counts=True)
    smaller = np.bincount(owner.reshape(-1)[smaller_won[first]], minlength=len(raters))
    several = raters >= 2
    n, k = raters[several].astype(np.int64), smaller[several].astype(np.int64)
    agree = int((k * (k - 1) // 2 + (n - k) * (n - k - 1) // 2).sum())
    total = int((n * (n - 1) // 2).sum())
    return {"pairs_judged_by_several_raters": int(several.sum()),
            "inter_rater_agreement": round(agree / total, 4) if total else None}
