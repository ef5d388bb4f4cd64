"""Candidates files, pairing strategies and the pairs written for DPO."""

import json
import re

import numpy as np
import pytest

from pluralist.decide.aggregate import parse_rule
from pluralist.decide.export import (labellings, pair_records, pairs, parse_pairing,
                                     read_candidates, write_pairs)
from pluralist.decide.utility import win_from_rewards
from pluralist.errors import DataError

SCORES = np.array([0.2, 0.9, 0.5, 0.2])
ORDER = np.array([1, 2, 0, 3])    # best first; 0 and 3 tie, the first listed ahead


def test_best_vs_worst_is_one_pair():
    assert pairs(SCORES, ORDER, parse_pairing("best-vs-worst")) == [(1, 3, pytest.approx(0.7))]


def test_best_vs_each_pairs_the_best_with_every_other():
    found = pairs(SCORES, ORDER, parse_pairing("best-vs-each"))
    assert [(a, b) for a, b, _ in found] == [(1, 2), (1, 0), (1, 3)]
    assert [m for *_, m in found] == pytest.approx([0.4, 0.7, 0.7])


def test_above_margin_takes_every_pair_whose_margin_exceeds_it():
    found = pairs(SCORES, ORDER, parse_pairing("above:0.25"))
    assert sorted((a, b) for a, b, _ in found) == [(1, 0), (1, 2), (1, 3), (2, 0), (2, 3)]
    everything = pairs(SCORES, ORDER, parse_pairing("above:0"))
    assert len(everything) == 5   # the tied pair (0, 3) teaches nothing and is left out


def test_a_labeller_indifferent_to_everything_gives_no_pair():
    flat = np.full(3, 0.5)
    for name in ("best-vs-worst", "best-vs-each", "above:0"):
        assert pairs(flat, np.arange(3), parse_pairing(name)) == []


@pytest.mark.parametrize("text, problem", [
    ("worst-vs-best", "unknown pairing"), ("best-vs-each:2", "unknown pairing"),
    ("above", "above needs a margin M >= 0"), ("above:-1", "above needs a margin M >= 0"),
    ("above:inf", "above needs a margin M >= 0"), ("above:x", "above needs a margin M >= 0")])
def test_bad_pairings_are_refused(text, problem):
    with pytest.raises(DataError, match=re.escape(problem)):
        parse_pairing(text)


def test_labellings_by_rule_group_and_rater():
    rewards = np.array([[5.0, 0.0, 2.0], [0.0, 5.0, 2.0]])
    win = win_from_rewards(rewards)
    (label, scores, order), = labellings(win, ["p", "q"], ["a", "b"], "rule", rule=parse_rule("maxmin"))
    assert label == {"group": "all", "rule": "maxmin"} and order[0] == 2
    by_group = labellings(win, ["p", "q"], ["a", "b"], "each-group")
    assert [(lab, order[0]) for lab, _, order in by_group] == [({"group": "a"}, 0), ({"group": "b"}, 1)]
    by_rater = labellings(win, ["p", "q"], ["a", "b"], "each-rater")
    assert [(lab, order[0]) for lab, _, order in by_rater] == [({"rater": "p"}, 0), ({"rater": "q"}, 1)]


def test_pair_records_are_trl_rows_with_the_label(tmp_path, write_jsonl):
    path = write_jsonl([{"prompt": "Q?", "responses": ["x", "y", "z"]}])
    (candidates,) = read_candidates(path)
    rows = pair_records(candidates, [(2, 0, 0.25)], {"rater": "r1"})
    assert rows == [{"prompt": "Q?", "chosen": "z", "rejected": "x", "margin": 0.25, "rater": "r1"}]
    out = tmp_path / "pairs.jsonl"
    write_pairs(out, rows)
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "pairs.jsonl"]   # no leftovers


@pytest.mark.parametrize("record, where, problem", [
    ({"prompt": "Q", "responses": ["only one"]}, "field 'responses'",
     "needs at least two responses to choose between, got 1"),
    ({"prompt": "Q", "responses": ["a", "b", "a"]}, "field 'responses'", "response 3 repeats response 1"),
    ({"prompt": "Q", "responses": "a, b"}, "field 'responses'", "expected a list of responses, got str"),
    ({"prompt": "Q", "responses": ["a", 7]}, "field 'responses'", "response 2 is not a non-empty text"),
    ({"prompt": "Q", "responses": ["a", " "]}, "field 'responses'", "response 2 is not a non-empty text"),
    ({"responses": ["a", "b"]}, "field 'prompt'", "missing required field"),
    ({"prompt": "Q"}, "field 'responses'", "missing required field"),
])
def test_bad_candidates_give_one_located_line(write_jsonl, record, where, problem):
    path = write_jsonl([{"prompt": "fine", "responses": ["a", "b"]}, record])
    with pytest.raises(DataError) as info:
        read_candidates(path)
    assert str(info.value) == f"{path}: line 2: {where}: {problem}"


def test_pairs_must_go_to_a_json_lines_file(tmp_path):
    with pytest.raises(DataError, match="name the file .jsonl"):
        write_pairs(tmp_path / "pairs.csv", [])
    assert not list(tmp_path.iterdir())
