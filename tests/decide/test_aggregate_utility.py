"""Utilities read off a model: each rater's pair margins, for every family; electorates
and groups files."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from pluralist.decide.utility import electorate, read_groups, utilities, win_probabilities
from pluralist.errors import DataError
from pluralist.models import build_model, family_names
from pluralist.models.data import UNKNOWN_RATER, Batch

DIM, RATERS = 6, ("u0", "u1", "u2")


def pair_batch(a, b, prompt, rater):
    n = len(a)
    return Batch(a, b, torch.zeros(n, dtype=torch.long), prompt[None], torch.full((n,), rater),
                 torch.zeros(n, dtype=torch.bool), torch.zeros(n), torch.ones(n))


@pytest.fixture(scope="module", params=family_names())
def model(request):
    torch.manual_seed(1)
    built = build_model(request.param, dim=DIM, raters=RATERS)
    with torch.no_grad():   # untrained parameters are often zero: give every rater a taste
        for parameter in built.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    return built.eval()


def test_win_probabilities_are_each_raters_pair_margins_through_a_sigmoid(model):
    torch.manual_seed(2)
    candidates, prompts = torch.randn(2, 4, DIM), torch.randn(2, DIM)    # 2 prompts, N = 4
    profile = model.adapt(pair_batch(torch.randn(6, DIM), torch.randn(6, DIM), prompts[0], UNKNOWN_RATER))
    voters = dataclasses.replace(electorate(model, raters=["u1", "new", "nobody"])[0],
                                 profiles={"new": profile})
    assert voters.seen == (1, UNKNOWN_RATER, UNKNOWN_RATER)
    win = win_probabilities(model, voters, candidates, prompts)          # (S, R, N, N)
    assert win.shape == (2, 3, 4, 4)
    for s in range(2):
        i, j = np.nonzero(~np.eye(4, dtype=bool))
        with torch.no_grad():
            seen = model.margin(pair_batch(candidates[s, i], candidates[s, j], prompts[s], 1))
            adapted = model.adapted_margin(profile, pair_batch(candidates[s, i], candidates[s, j],
                                                               prompts[s], UNKNOWN_RATER))
            population = model.margin(pair_batch(candidates[s, i], candidates[s, j], prompts[s],
                                                 UNKNOWN_RATER))
        for r, margin in enumerate((seen, adapted, population)):
            expected = 1 / (1 + np.exp(-margin.double().numpy()))
            assert win[s, r, i, j] == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert np.diagonal(win[s], axis1=1, axis2=2) == pytest.approx(np.full((3, 4), 0.5))


def test_an_intransitive_familys_pair_margin_is_used_not_its_reward():
    """gpm's reward scores a response against a mean response; its pairs can cycle,
    which no reward difference can. The utilities follow the pairs."""
    torch.manual_seed(0)
    model = build_model("gpm", dim=2, raters=("u",), blocks=1)
    with torch.no_grad():   # one block, the identity map: v(x) = x / |x|
        model.embed.weight.copy_(torch.eye(2))
        model.embed.bias.zero_()
    angles = torch.arange(3) * (2 * np.pi / 3)                 # three directions 120 degrees apart
    candidates = torch.stack([torch.cos(angles), torch.sin(angles)], -1)[None]   # (1, 3, 2)
    voters, _ = electorate(model, raters=["u"])
    win = win_probabilities(model.eval(), voters, candidates, torch.zeros(1, 2))[0, 0]
    # a cycle: each candidate is preferred to the next one round the circle
    assert win[0, 1] > 0.99 and win[1, 2] > 0.99 and win[2, 0] > 0.99
    assert win + win.T == pytest.approx(np.ones((3, 3)))
    assert utilities(win[None])[0] == pytest.approx(np.full(3, 0.5))   # no candidate stands out


def test_the_electorate_is_the_seen_raters_or_the_groups_file_s_known_raters():
    model = build_model("lowrank", dim=DIM, raters=RATERS)
    everyone, left_out = electorate(model)
    assert everyone.raters == RATERS and everyone.groups == RATERS and not left_out
    grouped, left_out = electorate(model, {"u2": "g", "u0": "h", "stranger": "g"},
                                   profiles={"stranger2": object()})
    assert grouped.raters == ("u2", "u0") and grouped.groups == ("g", "h")
    assert left_out == ["stranger"]
    with pytest.raises(DataError, match="no rater to decide for"):
        electorate(model, {"stranger": "g"})


def test_groups_files_read_any_file_with_rater_and_group_columns(tmp_path, write_jsonl):
    csv = tmp_path / "groups.csv"
    csv.write_text("rater,group\nu0,a\nu1,b\nu0,a\n")
    assert read_groups(csv) == {"u0": "a", "u1": "b"}
    comparisons = write_jsonl([{"rater": "u0", "group": "a", "chosen": "x", "rejected": "y"},
                               {"rater": 7, "group": "b", "chosen": "x", "rejected": "y"}])
    assert read_groups(comparisons) == {"u0": "a", "7": "b"}


@pytest.mark.parametrize("lines, where, problem", [
    ([{"rater": "u0", "group": "a"}, {"rater": "u0", "group": "b"}], "line 2: field 'group'",
     "rater 'u0' is in group 'b' here but in 'a' at line 1"),
    ([{"rater": "u0"}], "line 1: field 'group'", "missing required field"),
    ([{"group": "a"}], "line 1: field 'rater'", "missing required field"),
])
def test_bad_groups_files_are_located(write_jsonl, lines, where, problem):
    path = write_jsonl(lines)
    with pytest.raises(DataError) as info:
        read_groups(path)
    assert str(info.value) == f"{path}: {where}: {problem}"


def test_groups_file_written_by_json_lines_is_read(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps({"rater": f"u{i}", "group": "ab"[i % 2]}) + "\n" for i in range(4)))
    assert read_groups(path) == {"u0": "a", "u1": "b", "u2": "a", "u3": "b"}
