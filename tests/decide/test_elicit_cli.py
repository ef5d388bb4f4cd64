"""`pluralist elicit` end to end on a small trained model (hashing encoder): a session
through a pipe, resume, --simulate, the profile against `pluralist adapt`, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.data import read_comparisons
from pluralist.decide.elicit import Elicitation
from pluralist.decide.pool import embed_pool, read_pool
from pluralist.encode import embed
from pluralist.models import PreferenceData
from pluralist.workflows import load_with_encoder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The built-in benchmark, small; a lowrank model of its first 40 raters; a pool of
    the last rater's comparisons (labels ignored)."""
    root = tmp_path_factory.mktemp("elicit")
    cache = str(root / "cache")
    run = lambda *args: CliRunner().invoke(cli, [*args], catch_exceptions=False)
    assert run("data", "synth", "--out", str(root / "bench.jsonl"), "--raters", "48",
               "--comparisons-per-rater", "40").exit_code == 0
    lines = (root / "bench.jsonl").read_text().splitlines()
    seen = [line for line in lines if json.loads(line)["rater"] < "r0040"]
    (root / "seen.jsonl").write_text("\n".join(seen) + "\n")
    (root / "pool.jsonl").write_text("\n".join(line for line in lines
                                               if json.loads(line)["rater"] == "r0047") + "\n")
    result = run("train", str(root / "seen.jsonl"), "--family", "lowrank", "--rank", "4",
                 "--encoder", "hashing:32", "--epochs", "20", "--cache-dir", cache,
                 "--out", str(root / "model"))
    assert result.exit_code == 0, result.output
    return root


def elicit(root, tmp_path, *extra, keys="", answers="answers.jsonl"):
    args = ["elicit", str(root / "model"), "--pool", str(root / "pool.jsonl"), "--rater", "me",
            "--answers", str(tmp_path / answers), *extra]
    return CliRunner().invoke(cli, args, input=keys)


def answered_pairs(path: Path) -> list[frozenset]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [frozenset((row["chosen"], row["rejected"])) for row in rows]


def test_a_session_through_a_real_pipe_appends_answers_and_the_profile(trained, tmp_path):
    command = [sys.executable, "-m", "pluralist.cli", "elicit", str(trained / "model"), "--pool",
               str(trained / "pool.jsonl"), "--rater", "me", "--answers", str(tmp_path / "a.jsonl"),
               "--queries", "4"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, input="1\n2 t\nx\ns1\n", capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "'x' is not one of 1, 2, t, s, q" in done.stdout          # re-asked, not an error
    assert done.stdout.count("question 4 of 4") == 2                  # once skipped, once answered
    assert "answered 4/4" in done.stdout and "expected accuracy" in done.stdout
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [row.get("tie", False) for row in rows] == [False, False, True, False]
    assert [row["chosen_first"] for row in rows] == [True, False, True, True]
    assert {row["rater"] for row in rows} == {"me"} and rows[0]["encoder_id"] == "hashing-v1:32"
    assert len(read_comparisons(tmp_path / "a.jsonl")) == 4          # readable as comparisons
    profile = json.loads((tmp_path / "a.profile.json").read_text())
    assert profile["elicitation"]["answered"] == 4 and profile["profiles"]["me"]["comparisons"] == 4


def test_the_profile_is_what_adapt_writes_for_the_same_answers(trained, tmp_path):
    result = elicit(trained, tmp_path, "--queries", "12", "--simulate", str(trained / "bench.truth.json"),
                    "--strategy", "diverse")
    assert result.exit_code != 0 and "no rater 'me'" in result.output   # `me` is nobody in the truth
    args = ["elicit", str(trained / "model"), "--pool", str(trained / "pool.jsonl"), "--rater", "r0047",
            "--answers", str(tmp_path / "answers.jsonl"), "--queries", "12",
            "--simulate", str(trained / "bench.truth.json")]
    assert CliRunner().invoke(cli, args).exit_code == 0
    adapted = CliRunner().invoke(cli, ["adapt", str(trained / "model"), str(tmp_path / "answers.jsonl"),
                                       "--out", str(tmp_path / "adapted.json")])
    assert adapted.exit_code == 0, adapted.output
    ours = json.loads((tmp_path / "answers.profile.json").read_text())
    theirs = json.loads((tmp_path / "adapted.json").read_text())
    assert ours["profiles"] == theirs["profiles"] and ours["model_identity"] == theirs["model_identity"]
    assert any(value != 0 for value in ours["profiles"]["r0047"]["values"]["theta"])
    scored = CliRunner().invoke(cli, ["score", str(trained / "model"), "--rater", "r0047", "--profile",
                                      str(tmp_path / "answers.profile.json"), "A", "B"])
    assert scored.exit_code == 0 and "adapted profile" in scored.output


def test_the_library_session_equals_adapt_on_the_answers_read_back(trained, tmp_path):
    first = elicit(trained, tmp_path, "--queries", "6", keys="1212t1")
    assert first.exit_code == 0, first.output
    model, embedding = load_with_encoder(trained / "model")
    table = read_comparisons(tmp_path / "answers.jsonl")
    data = PreferenceData.from_table(table, embed(table, embedding), raters=())
    session = Elicitation(model, embed_pool(read_pool(trained / "pool.jsonl"), model, embedding.cache()),
                          prior=data.batch(np.arange(len(table))))
    assert session.belief.profile.values == model.adapt(data.batch(np.arange(len(table)))).values
    saved = json.loads((tmp_path / "answers.profile.json").read_text())["profiles"]["me"]
    assert saved["values"] == session.belief.profile.values


def test_a_rerun_resumes_and_never_asks_an_answered_pair_again(trained, tmp_path):
    assert elicit(trained, tmp_path, "--queries", "3", keys="121").exit_code == 0
    again = elicit(trained, tmp_path, "--queries", "3", keys="2q")
    assert again.exit_code == 0 and "answered 1 in this session, 4 in all" in again.output
    pairs = answered_pairs(tmp_path / "answers.jsonl")
    assert len(pairs) == len(set(pairs)) == 4


def test_a_pool_of_answered_pairs_only_asks_nothing_and_says_so(trained, tmp_path):
    pool = read_pool(trained / "pool.jsonl")
    rows = [{"prompt": p, "chosen": b, "rejected": a, "rater": "me"}      # every pair, reversed
            for p, a, b in zip(pool.prompt, pool.a, pool.b)]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = answers.read_bytes()
    result = elicit(trained, tmp_path, keys="1")
    assert result.exit_code == 0, result.output
    assert "no question left" in result.output and f"({len(pool)} answered before" in result.output
    assert answers.read_bytes() == before


def test_an_unknown_model_directory_is_one_line_and_writes_nothing(trained, tmp_path):
    args = ["elicit", str(tmp_path / "nomodel"), "--pool", str(trained / "pool.jsonl"), "--rater", "me",
            "--answers", str(tmp_path / "answers.jsonl")]
    result = CliRunner().invoke(cli, args, input="1")
    assert result.exit_code == 2 and "not a pluralist model directory" in result.output
    assert result.output.count("\n") == 1 and not list(tmp_path.iterdir())


def test_a_pool_row_with_one_text_twice_is_refused(trained, tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"response_a": "x", "response_b": "y"}\n{"response_a": "same", "response_b": "same"}\n')
    args = ["elicit", str(trained / "model"), "--pool", str(pool), "--rater", "me",
            "--answers", str(tmp_path / "answers.jsonl")]
    result = CliRunner().invoke(cli, args, input="1")
    assert result.exit_code == 2
    assert result.output == (f"error: {pool}: line 2: field 'response_b': the same text as response_a: "
                             "nothing to choose between\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.jsonl"]


def test_answers_elicited_with_another_encoder_are_refused(trained, tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"chosen": "x", "rejected": "y", "rater": "me",
                                   "encoder_id": "hashing-v1:64"}) + "\n")
    before = answers.read_bytes()
    result = elicit(trained, tmp_path, keys="1")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "line 1: field 'encoder_id': elicited with embeddings from 'hashing-v1:64'" in result.output
    assert answers.read_bytes() == before and not (tmp_path / "answers.profile.json").exists()


def test_a_profile_path_holding_a_users_file_is_refused(trained, tmp_path):
    (tmp_path / "answers.profile.json").write_text("my notes\n")
    result = elicit(trained, tmp_path, keys="1")
    assert result.exit_code == 2 and "refusing to replace it" in result.output
    assert (tmp_path / "answers.profile.json").read_text() == "my notes\n"
