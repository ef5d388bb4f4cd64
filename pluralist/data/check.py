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
