"""Held-out parts that cannot be read off training: known answers for data/holdout.py and
the splits built on it, and the leak they close, shown with a model that memorises."""

import numpy as np
import pytest

from pluralist.data import ratings_to_pairs, split_raters
from pluralist.data.holdout import disjoint_from, holdout
from pluralist.data.split import text_ids


def _texts_of(rows, chosen, rejected) -> set:
    return set(chosen[rows].tolist()) | set(rejected[rows].tolist())


def test_comparisons_that_share_no_text_are_split_as_pairs_would_be():
    n = 50
    chosen, rejected = np.arange(n), np.arange(n, 2 * n)          # every text once
    kept, held, dropped = holdout(np.arange(n), np.zeros(n, int), chosen, rejected, 0.2,
                                  np.random.default_rng(0))
    assert len(held) == 10 and len(kept) == 40 and len(dropped) == 0


def test_small_linked_groups_are_held_out_whole():
    # ten groups of three comparisons over the same three texts each
    chosen = np.repeat(np.arange(10) * 3, 3) + np.tile([0, 1, 2], 10)
    rejected = np.repeat(np.arange(10) * 3, 3) + np.tile([1, 2, 0], 10)
    kept, held, dropped = holdout(np.arange(30), np.zeros(30, int), chosen, rejected, 0.2,
                                  np.random.default_rng(1))
    assert len(held) == 6 and len(dropped) == 0
    assert not _texts_of(held, chosen, rejected) & _texts_of(kept, chosen, rejected)


def test_one_rater_s_pairs_from_ratings_are_split_by_texts_and_straddlers_dropped():
    texts = 30
    a, b = np.triu_indices(texts, 1)                               # every pair of 30 texts
    kept, held, dropped = holdout(np.arange(len(a)), np.zeros(len(a), int), a, b, 0.2,
                                  np.random.default_rng(2))
    assert not _texts_of(held, a, b) & _texts_of(kept, a, b)
    assert len(kept) + len(held) + len(dropped) == len(a) and len(dropped) > 0
    assert 0.08 < len(held) / (len(held) + len(kept)) < 0.35       # about the fraction asked


def test_raters_are_split_separately_and_pairs_mode_drops_nothing():
    rater = np.repeat([0, 1], 20)
    chosen, rejected = np.zeros(40, int), np.ones(40, int)         # one pair, over and over
    kept, held, dropped = holdout(np.arange(40), rater, chosen, rejected, 0.25,
                                  np.random.default_rng(0), by="pairs")
    assert len(held) == 10 and len(dropped) == 0
    assert (rater[held] == 0).sum() == 5


def test_disjoint_from_leaves_out_rows_sharing_a_text():
    chosen, rejected = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4])
    assert disjoint_from(np.array([1, 2, 3]), np.array([0]), chosen, rejected).tolist() == [2, 3]


def _ratings_table(raters=8, items=40, seed=0):
    """Every rater scores the same `items` texts in their own order: pairs within a rater."""
    rng = np.random.default_rng(seed)
    records = [(f"line {i + 1}", {"rater": f"r{r}", "text": f"text {t}", "score": float(s)})
               for i, (r, t, s) in enumerate((r, t, s) for r in range(raters)
                                             for t, s in enumerate(rng.permutation(items)))]
    return ratings_to_pairs(records, source="ratings")


def _memorised_accuracy(table, split) -> float:
    """A model that memorises each rater's wins per text in training, and predicts a
    held-out pair by comparing them (a tie where it knows neither: one half)."""
    chosen, rejected = text_ids(table)
    hits = []
    for rater in split.seen_raters:
        own = lambda rows: rows[table.rater[rows] == rater]
        wins = np.zeros(chosen.max() + rejected.max() + 2)
        np.add.at(wins, chosen[own(split.train)], 1)
        np.add.at(wins, rejected[own(split.train)], -1)
        test = own(split.seen_test)
        margin = wins[chosen[test]] - wins[rejected[test]]
        hits.append(np.where(margin > 0, 1.0, np.where(margin == 0, 0.5, 0.0)))
    return float(np.concatenate(hits).mean())


def test_a_memorising_model_reads_pair_splits_and_not_text_splits():
    table = _ratings_table()
    by_pairs = split_raters(table, unseen=0, seed=0, by="pairs")
    by_texts = split_raters(table, unseen=0, seed=0)
    assert _memorised_accuracy(table, by_pairs) > 0.9   # near all, read off training pairs
    assert _memorised_accuracy(table, by_texts) == pytest.approx(0.5, abs=0.02)
    summary = by_texts.summary()
    assert summary["held_out_by"] == "texts" and summary["dropped"] > 0
    chosen, rejected = text_ids(table)
    for rater in by_texts.seen_raters:
        own = lambda rows: rows[table.rater[rows] == rater]
        assert not (_texts_of(own(by_texts.seen_test), chosen, rejected)
                    & _texts_of(own(by_texts.train), chosen, rejected))


def test_an_unknown_holdout_is_refused():
    from pluralist.errors import DataError

    with pytest.raises(DataError, match="hold-out"):
        split_raters(_ratings_table(raters=2, items=4), unseen=0, by="rows")


def test_the_no_repeat_shortcut_splits_exactly_as_the_component_search_does():
    from pluralist.data.holdout import _component_split, _lone_split

    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 60))
        texts = rng.permutation(2 * n)                              # chosen, then rejected: each once
        rows = np.sort(rng.choice(10 * n, n, replace=False))
        fraction = float(rng.choice([0.0, 0.01, 0.2, 0.5, 1.0]))
        rank = np.argsort(np.argsort(texts))                        # each text's index among them
        fast = _lone_split(rows, rank[n:], fraction, np.random.default_rng(seed))
        slow = _component_split(rows, rank[:n], rank[n:], fraction, np.random.default_rng(seed))
        for a, b in zip(fast, slow):
            assert a.tolist() == b.tolist()


def test_raters_with_and_without_repeated_texts_split_as_before_the_shortcut():
    # rater 0 never repeats a text, rater 1 repeats them: both paths in one call
    chosen = np.concatenate([np.arange(0, 40), np.array([100, 100, 101, 102] * 5)])
    rejected = np.concatenate([np.arange(40, 80), np.array([101, 102, 102, 103] * 5)])
    rater = np.repeat([0, 1], [40, 20])
    kept, held, dropped = holdout(np.arange(60), rater, chosen, rejected, 0.25, np.random.default_rng(3))
    assert (rater[held] == 0).sum() == 10 and len(dropped[rater[dropped] == 0]) == 0
    assert not _texts_of(held, chosen, rejected) & _texts_of(kept, chosen, rejected)
    assert sorted(np.concatenate([kept, held, dropped]).tolist()) == list(range(60))
