import numpy as np
import pytest

from pluralist.data import (ComparisonTable, check_summary, read_rankings, read_ratings,
                            split_raters)
from pluralist.errors import DataError

RATINGS = [
    {"rater": "a", "prompt": "p", "text": "x", "score": 3},
    {"rater": "a", "prompt": "p", "text": "y", "score": 1},
    {"rater": "a", "prompt": "p", "text": "z", "score": 1},
    {"rater": "a", "prompt": "q", "text": "w", "score": 5},   # another prompt: no pair with p
    {"rater": "b", "prompt": "p", "text": "x", "score": 0},   # another rater: no pair with a
]


def test_ratings_to_pairs_drops_equal_scores(write_jsonl):
    table = read_ratings(write_jsonl(RATINGS))
    pairs = sorted(zip(table.chosen, table.rejected))
    assert pairs == [("x", "y"), ("x", "z")]
    assert set(table.rater) == {"a"} and set(table.prompt) == {"p"}


def test_ratings_keep_ties_and_margin(write_jsonl):
    table = read_ratings(write_jsonl(RATINGS), keep_ties=True, margin=True)
    assert len(table) == 3 and table.tie.sum() == 1
    assert sorted(table.strength.tolist()) == [0.0, 2.0, 2.0]


def test_rankings_to_pairs(write_jsonl):
    table = read_rankings(write_jsonl([{"rater": "a", "prompt": "p", "responses": ["1", "2", "3", "4"]}]))
    assert len(table) == 6
    assert ("1", "4") in set(zip(table.chosen, table.rejected))
    assert ("4", "1") not in set(zip(table.chosen, table.rejected))


def test_rankings_need_a_list(write_jsonl):
    with pytest.raises(DataError, match=r"line 1: field 'responses'"):
        read_rankings(write_jsonl([{"rater": "a", "responses": "just one"}]))


def _table(n_raters=20, per=10):
    raters = [f"r{i}" for i in range(n_raters) for _ in range(per)]
    n = len(raters)
    return ComparisonTable.from_columns(rater=raters, chosen=[f"c{i}" for i in range(n)],
                                        rejected=[f"d{i}" for i in range(n)])


def test_split_parts_are_disjoint_complete_and_seeded():
    table = _table()
    split = split_raters(table, unseen=0.25, test_fraction=0.2, seed=3)
    parts = [split.train, split.seen_test, split.unseen_pool, split.unseen_test]
    everything = np.concatenate(parts)
    assert len(everything) == len(table) == len(set(everything.tolist()))
    assert len(split.unseen_raters) == 5
    assert set(table.rater[split.unseen_pool]) == set(split.unseen_raters)
    assert not set(table.rater[split.train]) & set(split.unseen_raters)
    assert len(split.seen_test) == 15 * 2
    again = split_raters(table, unseen=0.25, test_fraction=0.2, seed=3)
    assert np.array_equal(again.unseen_pool, split.unseen_pool)
    other = split_raters(table, unseen=0.25, test_fraction=0.2, seed=4)
    assert other.unseen_raters != split.unseen_raters


def test_split_by_count_and_refuses_holding_out_everyone():
    assert len(split_raters(_table(), unseen=3).unseen_raters) == 3
    with pytest.raises(DataError, match="at least one rater must stay seen"):
        split_raters(_table(), unseen=20)


def test_check_counts_duplicates_contradictions_and_agreement():
    table = ComparisonTable.from_columns(
        rater=["a", "a", "a", "b", "c", "c"],
        chosen=["x", "x", "y", "x", "y", "p"],
        rejected=["y", "y", "x", "y", "x", "q"])
    summary = check_summary(table)
    assert summary["duplicate_comparisons"] == 1          # a: x>y twice
    assert summary["contradictory_duplicates"] == 1       # a: x>y and y>x
    assert summary["pairs_judged_by_several_raters"] == 1 # {x, y}: a, b, c
    # a says x (first judgement), b says x, c says y: 1 agreeing pair of 3
    assert summary["inter_rater_agreement"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["comparisons_per_rater"] == {"min": 1, "median": 2.0, "max": 3}
