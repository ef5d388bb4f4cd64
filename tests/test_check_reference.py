"""check_summary (integer codes) against a plain-Python reference: Counters and sets over
the rows, as check_summary itself was written before both paths shared coded_summary."""

from collections import Counter, defaultdict

import numpy as np

from pluralist.data import ComparisonTable, check_summary


def reference_summary(table: ComparisonTable) -> dict:
    per_rater = np.array(list(Counter(table.rater.tolist()).values()))
    directions, winners = defaultdict(set), defaultdict(dict)
    for rater, prompt, chosen, rejected, tie in zip(table.rater, table.prompt, table.chosen,
                                                    table.rejected, table.tie):
        if not tie:
            directions[rater, prompt, frozenset((chosen, rejected))].add(chosen)
            winners[prompt, frozenset((chosen, rejected))].setdefault(rater, chosen)
    agree = total = 0
    several = [by_rater for by_rater in winners.values() if len(by_rater) >= 2]
    for by_rater in several:
        n = len(by_rater)
        agree += sum(c * (c - 1) // 2 for c in Counter(by_rater.values()).values())
        total += n * (n - 1) // 2
    keys = Counter(zip(table.rater, table.prompt, table.chosen, table.rejected))
    return {
        "rows": len(table), "raters": len(per_rater),
        "groups": sorted(set(table.group.tolist()) - {""}),
        "prompts": len(set(table.prompt.tolist())), "distinct_texts": len(table.texts()),
        "comparisons_per_rater": {"min": int(per_rater.min()), "median": float(np.median(per_rater)),
                                  "max": int(per_rater.max())},
        "ties": int(table.tie.sum()),
        "duplicate_comparisons": sum(count - 1 for count in keys.values()),
        "contradictory_duplicates": sum(len(w) > 1 for w in directions.values()),
        "pairs_judged_by_several_raters": len(several),
        "inter_rater_agreement": round(agree / total, 4) if total else None,
    }


def random_table(rng, n) -> ComparisonTable:
    """Few texts, raters and prompts, so duplicates, contradictions and shared pairs occur;
    chosen may equal rejected (the row reader refuses it, a built table may not)."""
    texts = [f"t{i}" for i in range(int(rng.integers(1, 7)))]
    return ComparisonTable.from_columns(
        rater=[f"r{i}" for i in rng.integers(0, int(rng.integers(1, 6)), n)],
        chosen=[texts[i] for i in rng.integers(0, len(texts), n)],
        rejected=[texts[i] for i in rng.integers(0, len(texts), n)],
        prompt=[["", "p1", "p2"][i] for i in rng.integers(0, 3, n)],
        tie=rng.random(n) < rng.random(), group=[["", "g1", "g2"][i] for i in rng.integers(0, 3, n)])


def test_random_tables_match_the_reference():
    rng = np.random.default_rng(11)
    for trial in range(300):
        table = random_table(rng, int(rng.integers(1, 60)))
        got, want = check_summary(table), reference_summary(table)
        assert repr(got) == repr(want), (trial, got, want)   # repr: the same types too
