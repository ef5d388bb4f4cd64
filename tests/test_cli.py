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
