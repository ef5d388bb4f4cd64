"""Known answers for the aggregation rules, the utility scales and the welfare figures."""

import re

import numpy as np
import pytest

from pluralist.decide.aggregate import decide, gini, parse_rule, rule_scores, welfare
from pluralist.decide.utility import group_utilities, utilities, win_from_rewards
from pluralist.errors import DataError

ALL_RULES = ("mean", "maxmin", "nash", "quantile:0.1", "quantile:0.5", "copeland", "borda")

# Two equal groups of three with opposite tastes; candidate 2 is the compromise that
# both rank second. Group a: 0 > 2 > 1; group b: 1 > 2 > 0.
PARTISAN_A, PARTISAN_B, COMPROMISE = 0, 1, 2
OPPOSED = np.array([[5.0, 0.0, 2.0]] * 3 + [[0.0, 5.0, 2.0]] * 3)
OPPOSED_GROUPS = ["a"] * 3 + ["b"] * 3


def pick(rule, rewards, groups, scale="win"):
    return decide(parse_rule(rule), win_from_rewards(rewards), groups, scale).pick


@pytest.mark.parametrize("scale", ["win", "rank"])
def test_maxmin_and_nash_pick_the_compromise_both_groups_rank_second(scale):
    assert pick("maxmin", OPPOSED, OPPOSED_GROUPS, scale) == COMPROMISE
    assert pick("nash", OPPOSED, OPPOSED_GROUPS, scale) == COMPROMISE
    assert pick("quantile:0", OPPOSED, OPPOSED_GROUPS, scale) == COMPROMISE


def test_mean_picks_a_partisan_where_the_compromise_is_nearer_the_bottom():
    # on the win scale the compromise is worth 0.476 to everyone, a partisan 0.815 to
    # half and 0.209 to the other half: 0.512 on average
    decision = decide(parse_rule("mean"), win_from_rewards(OPPOSED), OPPOSED_GROUPS)
    assert decision.pick == PARTISAN_A   # ties with PARTISAN_B; the first listed wins
    assert decision.scores[PARTISAN_A] == pytest.approx(decision.scores[PARTISAN_B])
    assert decision.scores[COMPROMISE] == pytest.approx(decision.welfare["worst_group"][COMPROMISE])


def test_utilities_known_answer():
    win = win_from_rewards([[1.0, 0.0, 0.0]])
    p = 1 / (1 + np.exp(-1.0))
    # (1/N) sum_j P(i > j), the candidate against itself counting as a tie
    assert utilities(win, "win")[0] == pytest.approx([(0.5 + 2 * p) / 3, (1 - p + 1.0) / 3, (1 - p + 1.0) / 3])
    assert utilities(win, "rank")[0] == pytest.approx([2.5 / 3, 1 / 3, 1 / 3])
    # every rater's utilities sum to N/2: the scale is the same for every rater
    rewards = np.random.default_rng(0).normal(size=(5, 7)) * [[0.1], [1], [3], [10], [100]]
    assert utilities(win_from_rewards(rewards)).sum(-1) == pytest.approx(np.full(5, 3.5))


@pytest.mark.parametrize("seed", range(20))
def test_rescaling_one_raters_rewards_changes_no_pick_on_the_rank_scale(seed):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(9, 6))
    groups = rng.choice(["x", "y", "z"], size=9).tolist()
    rescaled = rewards.copy()
    rescaled[rng.integers(9)] *= rng.choice([0.01, 0.5, 3.0, 1000.0])
    for rule in ALL_RULES:
        assert pick(rule, rescaled, groups, "rank") == pick(rule, rewards, groups, "rank"), rule


@pytest.mark.parametrize("seed", range(10))
def test_rank_rules_read_only_who_prefers_what_on_either_scale(seed):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(7, 5))
    rescaled = rewards * rng.uniform(0.01, 100, size=(7, 1))
    for rule in ("copeland", "borda"):
        assert pick(rule, rescaled, list("abcdefg")) == pick(rule, rewards, list("abcdefg")), rule


def test_the_win_scale_weighs_intensity_so_rescaling_can_change_a_mean_pick():
    # rater 0 prefers candidate 0 by 1; rater 1 prefers candidate 1 by 0.5. Made ten
    # times as decisive, rater 1 outweighs rater 0: the win scale is calibrated, not scale-free.
    rewards = np.array([[1.0, 0.0], [0.0, 0.5]])
    assert pick("mean", rewards, ["u", "v"]) == 0
    assert pick("mean", rewards * [[1.0], [10.0]], ["u", "v"]) == 1
    assert pick("mean", rewards * [[1.0], [10.0]], ["u", "v"], "rank") == 0   # a tie: the first


def test_a_condorcet_winner_is_picked_by_copeland_though_borda_misses_it():
    # 3 raters A > B > C and 2 raters B > C > A: A beats B and C by 3 to 2 (Condorcet
    # winner); Borda counts give A 6, B 7, C 2.
    rewards = np.array([[2.0, 1.0, 0.0]] * 3 + [[0.0, 2.0, 1.0]] * 2)
    win = win_from_rewards(rewards)
    assert pick("copeland", rewards, list("abcde")) == 0
    assert rule_scores(parse_rule("copeland"), win, list("abcde")).tolist() == [2.0, 1.0, 0.0]
    assert rule_scores(parse_rule("borda"), win, list("abcde")).tolist() == [6.0, 7.0, 2.0]
    assert pick("borda", rewards, list("abcde")) == 1


@pytest.mark.parametrize("seed", range(30))
def test_copeland_always_picks_a_condorcet_winner_where_there_is_one(seed):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(rng.integers(3, 12), 5))
    prefers = (rewards[:, :, None] > rewards[:, None, :]).mean(0)      # share preferring i to j
    beats_all = [i for i in range(5) if all(prefers[i, j] > 0.5 for j in range(5) if j != i)]
    if beats_all:
        assert pick("copeland", rewards, list(range(len(rewards)))) == beats_all[0]


def test_gini_known_answers():
    assert gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
    assert gini(np.array([0.3, 0.3, 0.3])) == 0.0
    assert gini(np.zeros(4)) == 0.0
    # along axis 0, one coefficient per column
    assert gini(np.array([[0.0, 1.0], [1.0, 1.0]])) == pytest.approx([0.5, 0.0])


def test_quantile_rule_and_the_10th_percentile_known_answers():
    utility = np.linspace(0, 1, 11)[:, None] * [1.0, 0.5]                 # 11 raters, 2 candidates
    report = welfare(utility, list(range(11)))
    assert report["p10"] == pytest.approx([0.1, 0.05])
    assert report["mean"] == pytest.approx([0.5, 0.25])
    assert report["worst_group"] == pytest.approx([0.0, 0.0])
    # quantile:q on a profile whose utilities are known: the 3 raters' utilities of candidate 0
    # are 5/6, 5/6, 1/6 on the rank scale
    rewards = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [-1.0, 0.0, 1.0]])
    scores = rule_scores(parse_rule("quantile:0.5"), win_from_rewards(rewards), [0, 1, 2], "rank")
    assert scores == pytest.approx([5 / 6, 0.5, 1 / 6])
    scores = rule_scores(parse_rule("quantile:0.25"), win_from_rewards(rewards), [0, 1, 2], "rank")
    assert scores[0] == pytest.approx(1 / 6 + 0.5 * (5 / 6 - 1 / 6))


def test_welfare_reports_each_group_and_names_the_worst():
    utility = utilities(win_from_rewards(OPPOSED))
    report = welfare(utility, OPPOSED_GROUPS)
    names, by_group = group_utilities(utility, OPPOSED_GROUPS)
    assert names == ["a", "b"] and report["groups"]["a"] == pytest.approx(by_group[0])
    assert report["worst_group_name"][:2] == ["b", "a"]
    assert report["gini"][COMPROMISE] == pytest.approx(0.0)
    loved, hated = report["groups"]["a"][PARTISAN_A], report["groups"]["b"][PARTISAN_A]
    # half the raters at one value, half at another: G = |a - b| / (2 (a + b))
    assert report["gini"][PARTISAN_A] == pytest.approx((loved - hated) / (2 * (loved + hated)))


def test_maxmin_is_over_groups_not_raters():
    # group g holds a rater who likes candidate 0 and one who hates it; group h mildly
    # prefers 0. The worst-off rater (the hater) is better off under 1; the worst-off
    # group is: under 0 g (0.489 against h's 0.525), under 1 h (0.475).
    rewards = np.array([[3.0, 0.0], [-5.0, 0.0], [0.2, 0.0]])
    assert pick("maxmin", rewards, ["g", "g", "h"]) == 0
    assert pick("quantile:0", rewards, ["g", "g", "h"]) == 1


@pytest.mark.parametrize("text, problem", [
    ("median", "unknown rule"), ("mean:1", "unknown rule"), ("quantile", "needs q in [0, 1]"),
    ("quantile:1.5", "needs q in [0, 1]"), ("quantile:x", "needs q in [0, 1]"),
    ("quantile:nan", "needs q in [0, 1]")])
def test_bad_rules_are_refused(text, problem):
    with pytest.raises(DataError, match=re.escape(problem)):
        parse_rule(text)


def test_rule_names_round_trip():
    for text in ALL_RULES:
        assert str(parse_rule(text)) == text
