import json

from click.testing import CliRunner

from pluralist.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_synth_check_convert_embed(tmp_path):
    data = tmp_path / "bench.jsonl"
    result = run("data", "synth", "--out", data, "--raters", 20, "--comparisons-per-rater", 10)
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "bench.truth.json").read_text())
    assert len(truth["raters"]) == 20 and 0.5 < truth["bayes_accuracy"] < 1

    result = run("data", "check", data, "--json")
    summary = json.loads(result.output)
    assert summary["rows"] == 200 and summary["raters"] == 20 and len(summary["groups"]) >= 2

    parquet = tmp_path / "bench.parquet"
    assert run("data", "convert", data, "--out", parquet).exit_code == 0
    assert "rows                 200" in run("data", "check", parquet).output

    first = run("embed", data, "--encoder", "hashing:32", "--cache-dir", tmp_path / "c")
    second = run("embed", data, "--encoder", "hashing:32", "--cache-dir", tmp_path / "c")
    assert first.exit_code == 0 and " 0 cache hits" in first.output
    assert "0 embedded" in second.output and "nothing to embed" in second.output


def test_ratings_kind_through_the_cli(write_jsonl):
    path = write_jsonl([{"rater": "a", "text": "x", "score": 2}, {"rater": "a", "text": "y", "score": 1}])
    result = run("data", "check", path, "--kind", "ratings", "--json")
    assert json.loads(result.output)["rows"] == 1


def test_unknown_encoder_is_one_line_exit_2(write_jsonl):
    path = write_jsonl([{"rater": "a", "chosen": "x", "rejected": "y"}])
    result = run("embed", path, "--encoder", "word2vec")
    assert result.exit_code == 2 and result.output.startswith("error: unknown encoder")


def test_train_adapt_score_round_trip(tmp_path):
    data = tmp_path / "b.jsonl"
    run("data", "synth", "--out", data, "--raters", 30, "--comparisons-per-rater", 30)
    model = tmp_path / "model"
    result = run("train", data, "--family", "lowrank", "--rank", 3, "--encoder", "hashing:64",
                 "--epochs", 5, "--out", model, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "config.json").read_text())
    assert meta["family"] == "lowrank" and meta["config"]["rank"] == 3
    assert meta["encoder_id"].startswith("hashing") and len(meta["raters"]) == 30

    lines = [json.loads(line) for line in data.read_text().splitlines()[:15]]
    new = tmp_path / "new.jsonl"
    new.write_text("".join(json.dumps({**row, "rater": "newcomer"}) + "\n" for row in lines))
    profile = tmp_path / "profile.json"
    assert run("adapt", model, new, "--out", profile, "--cache-dir", tmp_path / "c").exit_code == 0
    assert json.loads(profile.read_text())["profiles"]["newcomer"]["comparisons"] == 15

    answers = ["Just do it.", "It may perhaps be advisable to do it, I guess?"]
    for rater, source in (("r0001", "seen rater"), ("newcomer", "adapted profile"),
                          ("stranger", "population reward")):
        out = run("score", model, *answers, "--rater", rater, "--profile", profile,
                  "--cache-dir", tmp_path / "c")
        assert out.exit_code == 0 and source in out.output
        rewards = [float(line.split("\t")[0]) for line in out.output.splitlines()[1:]]
        assert len(rewards) == 2 and rewards[0] >= rewards[1]


def test_train_refuses_unknown_family_and_options(write_jsonl):
    path = write_jsonl([{"rater": "a", "chosen": "x", "rejected": "y"}])
    result = run("train", path, "--family", "magic", "--out", "m")
    assert result.exit_code == 2 and "unknown family 'magic'" in result.output
    result = run("train", path, "--family", "bt", "--option", "depth=3", "--out", "m")
    assert result.exit_code == 2 and "has no option(s) ['depth']" in result.output
    result = run("train", path, "--family", "bt", "--rank", 3, "--out", "m")
    assert result.exit_code == 2 and "has no rank" in result.output
    # a shared option the family has no use for is refused, not silently ignored
    result = run("train", path, "--family", "ideal_point", "--option", "rater_l2=0.1", "--out", "m")
    assert result.exit_code == 2 and "does not use option 'rater_l2'" in result.output


def test_model_and_data_with_different_encoders_is_refused(tmp_path):
    from pluralist.models import load_model

    data = tmp_path / "b.jsonl"
    run("data", "synth", "--out", data, "--raters", 10, "--comparisons-per-rater", 10)
    run("train", data, "--family", "bt", "--encoder", "hashing:32", "--epochs", 2, "--out",
        tmp_path / "m", "--cache-dir", tmp_path / "c")
    import pytest
    from pluralist.errors import ModelError

    with pytest.raises(ModelError, match="trained on embeddings from 'hashing-v1:32'"):
        load_model(tmp_path / "m", encoder_id="hashing-v1:64")
    result = run("score", tmp_path / "nothing-here", "x")
    assert result.exit_code == 2 and "not a pluralist model directory" in result.output


def test_train_with_em_reports_and_saves_each_raters_flip_rate(tmp_path):
    data = tmp_path / "b.jsonl"
    run("data", "synth", "--out", data, "--raters", 20, "--comparisons-per-rater", 30, "--noise", 0.2)
    model = tmp_path / "model"
    result = run("train", data, "--family", "bt", "--encoder", "hashing:64", "--epochs", 4,
                 "--noise", "em", "--out", model, "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    rates = json.loads((model / "config.json").read_text())["extra"]["train"]["noise"]["rater_rates"]
    assert sorted(rates) == sorted(json.loads((model / "config.json").read_text())["raters"])
    highest = max(rates, key=rates.get)
    assert f"highest per rater: {highest} {rates[highest]:.3f}" in result.output


def test_clicks_own_usage_errors_are_one_line_exit_2(write_jsonl):
    path = write_jsonl([{"rater": "a", "chosen": "x", "rejected": "y"}])
    for args in (["train", path], ["train", path, "--family", "bt", "--out", "m", "--bogus"],
                 ["frobnicate"], ["data", "check"], ["data", "check", path, "--kind", "votes"],
                 ["--bogus"], ["train", path, "--family", "bt", "--out", "m", "--epochs", "many"]):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
        assert "Usage:" not in result.output and "--help" in result.output
    assert run("--help").exit_code == 0 and "Usage:" in run("train", "--help").output
