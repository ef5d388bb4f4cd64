"""Every kind of bad input: one located DataError, exit code 2 in the CLI, nothing written."""

import gzip

import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.data import read_comparisons, read_ratings
from pluralist.errors import DataError

GOOD = '{"rater": "u", "chosen": "a", "rejected": "b"}'


@pytest.mark.parametrize("bad_line, where, field, problem", [
    ('{"rater": "u", "chosen": "a"', "line 2", None, "malformed JSON"),
    ('{"rater": "u", "rejected": "b"}', "line 2", "chosen", "missing required field"),
    ('{"rater": "u", "chosen": "  ", "rejected": "b"}', "line 2", "chosen", "empty text"),
    ('{"rater": "u", "chosen": "a", "rejected": "a"}', "line 2", "rejected", "same text"),
    ('{"rater": "u", "chosen": "a", "rejected": "b", "strength": -1}', "line 2", "strength", ">= 0"),
    ('{"rater": "u", "chosen": "a", "rejected": "b", "strength": "nan"}', "line 2", "strength", "not finite"),
    ('{"rater": "u", "chosen": "a", "rejected": "b", "weight": 0}', "line 2", "weight", "> 0"),
    ('{"rater": "u", "chosen": "a", "rejected": "b", "weight": "Infinity"}', "line 2", "weight", "not finite"),
    ('{"chosen": "a", "rejected": "b"}', "line 2", "rater", "missing required field"),
    ('{"rater": "u", "chosen": [{"role": "user"}], "rejected": "b"}', "line 2", "chosen", "role"),
    ('[1, 2]', "line 2", None, "expected an object"),
    ('{"rater": "u", "chosen": "a", "rejected": "b", "chosen_first": "left"}', "line 2", "chosen_first",
     "not a boolean"),
])
def test_jsonl_errors_name_file_line_and_field(write_jsonl, bad_line, where, field, problem):
    path = write_jsonl([GOOD, bad_line])
    with pytest.raises(DataError) as info:
        read_comparisons(path)
    message = str(info.value)
    assert str(path) in message and where in message and problem in message
    assert "\n" not in message
    if field:
        assert f"field '{field}'" in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="empty file"):
        read_comparisons(path)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(GOOD.encode() + b'\n{"rater": "u", "chosen": "caf\xe9", "rejected": "b"}\n')
    with pytest.raises(DataError, match=r"line 2: undecodable bytes"):
        read_comparisons(path)


def test_malformed_csv_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("rater,chosen,rejected\nu,a,b\nu,a,b,extra\n")
    with pytest.raises(DataError, match=r"d.csv: line 3: expected 3 fields"):
        read_comparisons(path)


def test_unclosed_csv_quote_names_the_line_where_the_record_starts(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('rater,chosen,rejected\nu,"two\nlines",b\nu,"unclosed,b\n')
    with pytest.raises(DataError, match=r"d.csv: line 4: malformed CSV"):
        read_comparisons(path)
    path.write_text('rater,chosen,rejected\nu,"two\nlines",b\nu,a,a\n')
    with pytest.raises(DataError, match=r"d.csv: line 4: field 'rejected'"):
        read_comparisons(path)


def test_corrupt_parquet_and_gzip(tmp_path):
    (tmp_path / "d.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_comparisons(tmp_path / "d.parquet")
    (tmp_path / "d.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_comparisons(tmp_path / "d.jsonl.gz")


def test_gzipped_jsonl_reads(tmp_path):
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress((GOOD + "\n").encode()))
    assert len(read_comparisons(tmp_path / "d.jsonl.gz")) == 1


def test_ratings_missing_score(write_jsonl):
    path = write_jsonl([{"rater": "u", "text": "a"}])
    with pytest.raises(DataError, match=r"line 1: field 'score': missing required field"):
        read_ratings(path)


def test_cli_prints_one_line_exits_2_and_writes_nothing(write_jsonl, tmp_path):
    path = write_jsonl([GOOD, '{"rater": "u", "chosen": "a", "rejected": "b", "weight": -2}'])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["data", "convert", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "line 2: field 'weight'" in result.output
    assert not out.exists()
    assert list(tmp_path.glob("*.tmp")) == []


def test_cli_missing_file_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(cli, ["data", "check", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.output


@pytest.mark.parametrize("option, value, field", [
    ("--adversarial", "2", "adversarial"), ("--position-bias", "-0.1", "position_bias"),
    ("--noise", "3", "noise"), ("--raters", "0", "raters"), ("--careless", "1.5", "careless")])
def test_synthetic_benchmark_options_out_of_range(tmp_path, option, value, field):
    result = CliRunner().invoke(cli, ["data", "synth", "--out", str(tmp_path / "s.jsonl"), option, value])
    assert result.exit_code == 2 and f"field '{field}'" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["train", "compare"])
@pytest.mark.parametrize("noise", [["--noise", "em", "--noise-rate", "0.3"], ["--noise", "unbiased"],
                                   ["--noise-rate", "0.2"], ["--noise", "peer-review", "--noise-rate", "0.7"]])
def test_noise_options_that_cannot_mean_anything_are_refused_before_any_work(write_jsonl, tmp_path,
                                                                             command, noise):
    path = write_jsonl([GOOD, GOOD])
    out = tmp_path / "out"
    extra = ["--family", "bt"] if command == "train" else ["--families", "bt"]
    result = CliRunner().invoke(cli, [command, str(path), *extra, *noise, "--out", str(out),
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2 and "flip rate" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "cache").exists()   # nothing embedded either
