"""Every kind of bad input: one located DataError, exit code 2 in the CLI, nothing written."""

import gzip
import json
import re

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


# --- issue 17 ---------------------------------------------------------------------

def one_line_refusal(result):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    return result.output


@pytest.mark.parametrize("rows, rater_column, message", [
    # the first record lacks the column the others have: 30 raters used to become 1
    ([{"chosen": "a", "rejected": "b"}, {"rater": "u", "chosen": "c", "rejected": "d"}], None,
     r"line 1: field 'rater': missing required field"),
    ([{"annotator": "u", "chosen": "a", "rejected": "b"}, {"chosen": "c", "rejected": "d"}],
     "annotator", r"line 2: field 'annotator': missing required field"),
    # a misspelt column no row has names the columns there are
    ([{"rater": "u", "chosen": "a", "rejected": "b"}], "ratr",
     r"no row has the rater column 'ratr'; the columns are 'rater', 'chosen', 'rejected'"),
])
def test_a_rater_column_is_in_every_row_or_refused(write_jsonl, rows, rater_column, message):
    path = write_jsonl(rows)
    with pytest.raises(DataError, match=message):
        read_comparisons(path, rater_column=rater_column)
    result = CliRunner().invoke(cli, ["data", "check", str(path)]
                                + (["--rater-column", rater_column] if rater_column else []))
    assert str(path) in one_line_refusal(result)


def test_ratings_follow_the_same_rater_column_rule(write_jsonl):
    path = write_jsonl([{"text": "x", "score": 1}, {"rater": "u", "text": "y", "score": 2}])
    with pytest.raises(DataError, match=r"line 1: field 'rater': missing required field"):
        read_ratings(path)


def test_jsonl_lines_end_at_newlines_only(tmp_path):
    from pluralist.data import write_comparisons

    path = tmp_path / "d.jsonl"
    texts = ["a\u2028b", "c\u2029d", "e\x85f"]
    path.write_text("".join(json.dumps({"rater": "u", "chosen": t, "rejected": "z"},
                                       ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    assert read_comparisons(path).chosen.tolist() == texts
    write_comparisons(read_comparisons(path), tmp_path / "again.jsonl")   # pluralist's own output
    assert read_comparisons(tmp_path / "again.jsonl").chosen.tolist() == texts


def test_corrupt_deflate_stream_is_one_located_line(tmp_path):
    packed = bytearray(gzip.compress(((GOOD + "\n") * 50).encode()))
    packed[12:20] = b"\xff" * 8   # inside the deflate stream, after the header
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_comparisons(path)


@pytest.mark.parametrize("command", [["data", "convert", "{data}", "--out", "{file}/o.jsonl"],
                                     ["data", "synth", "--out", "{file}/s.jsonl", "--raters", "2"],
                                     ["train", "{data}", "--family", "bt", "--out", "{file}/m",
                                      "--encoder", "hashing:32", "--cache-dir", "{tmp}/c"]])
def test_an_out_path_below_a_file_is_refused_before_any_work(write_jsonl, tmp_path, command):
    data = write_jsonl([GOOD, '{"rater": "u", "chosen": "c", "rejected": "d"}'])
    (tmp_path / "plain").write_text("a file")
    args = [a.format(data=data, file=tmp_path / "plain", tmp=tmp_path) for a in command]
    assert "is a file" in one_line_refusal(CliRunner().invoke(cli, args))
    assert not (tmp_path / "c").exists()


def test_a_lone_surrogate_is_refused_where_it_is_read(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(GOOD + '\n{"rater": "u", "chosen": "bad \\ud800 text", "rejected": "b"}\n')
    with pytest.raises(DataError, match=r"line 2: field 'chosen': not valid Unicode"):
        read_comparisons(path)
    out = tmp_path / "o.jsonl"
    assert "not valid Unicode" in one_line_refusal(
        CliRunner().invoke(cli, ["data", "convert", str(path), "--out", str(out)]))
    assert not out.exists()


@pytest.mark.parametrize("truth, message", [
    ("{not json", "malformed JSON"), ('["a list"]', "expected a JSON object"),
    ('{"p_chosen": {"x": 2}}', "expected a probability"),
    ('{"p_chosen": {"line 1": 0.5}}', "no probability for comparison id 'line 2'"),
    (None, "does not exist")])
def test_a_truth_file_is_read_in_full_or_refused(write_jsonl, tmp_path, truth, message):
    data = write_jsonl([GOOD, '{"rater": "v", "chosen": "c", "rejected": "d"}'])
    path = tmp_path / "t.truth.json"
    if truth is not None:
        path.write_text(truth)
    result = CliRunner().invoke(cli, ["compare", str(data), "--families", "bt", "--truth", str(path),
                                      "--out", str(tmp_path / "r"), "--encoder", "hashing:32",
                                      "--cache-dir", str(tmp_path / "c")])
    assert message in one_line_refusal(result)
    assert not (tmp_path / "c").exists() and not (tmp_path / "r").exists()


def test_a_huge_text_is_cut_to_a_bounded_length_before_tokenizing(monkeypatch, caplog):
    import logging

    from pluralist.encode import get_encoder

    encoder = get_encoder("minilm-exact")
    real, seen = encoder._tokenizer, []

    class Recording:   # the real tokenizer, noting how long each text it is given is
        def __call__(self, texts, **options):
            seen.extend(len(t) for t in texts)
            return real(texts, **options)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(encoder, "_tokenizer", Recording())
    monkeypatch.setattr(encoder, "_warned_truncation", False)
    huge = "many words here " * 200_000
    with caplog.at_level(logging.WARNING, logger="pluralist"):
        vector = encoder.encode([huge])
    assert max(seen) <= 256 * 64 < len(huge)
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1
    assert (vector @ encoder.encode([huge[:20_000]]).T).item() > 0.9999   # the same first tokens


@pytest.mark.parametrize("value, problem", [("NaN", "not finite"), ("Infinity", "not finite"),
                                            ('"abc"', "not a number"), ("true", "not a number"),
                                            ("1e308", "too large: 1e+308 overflows float32"),
                                            ("1e400", "not finite")])
@pytest.mark.parametrize("field", ["strength", "weight", "margin"])
def test_numbers_must_be_finite_numbers_in_float32(write_jsonl, field, value, problem):
    path = write_jsonl([GOOD, GOOD[:-1] + f', "{field}": {value}}}'])
    with pytest.raises(DataError, match=re.escape(f"line 2: field '{field}': {problem}")):
        read_comparisons(path)


def test_a_weight_that_is_zero_in_float32_is_refused(write_jsonl):
    with pytest.raises(DataError, match=r"field 'weight': must be > 0 \(also in float32\)"):
        read_comparisons(write_jsonl([GOOD[:-1] + ', "weight": 1e-50}']))


def test_csv_numbers_follow_the_same_rule(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("rater,chosen,rejected,weight\nu,a,b,1\nu,c,d,1e308\n")
    with pytest.raises(DataError, match=r"d.csv: line 3: field 'weight': too large"):
        read_comparisons(path)


@pytest.mark.parametrize("field, value", [("chosen", "NaN"), ("chosen", "3"), ("prompt", "1.5"),
                                          ("rejected", "true")])
def test_texts_must_be_strings(write_jsonl, field, value):
    row = {"rater": "u", "prompt": "p", "chosen": "a", "rejected": "b"}
    line = json.dumps(row).replace(f'"{field}": "{row[field]}"', f'"{field}": {value}')
    with pytest.raises(DataError, match=f"line 1: field '{field}': expected text"):
        read_comparisons(write_jsonl([line]))


def test_parquet_nan_is_refused_and_null_is_absent(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = {"rater": ["u", "u"], "chosen": ["a", "c"], "rejected": ["b", "d"], "weight": [None, 2.0]}
    pq.write_table(pa.table(rows), tmp_path / "ok.parquet")
    assert read_comparisons(tmp_path / "ok.parquet").weight.tolist() == [1.0, 2.0]
    pq.write_table(pa.table({**rows, "weight": [1.0, float("nan")]}), tmp_path / "nan.parquet")
    with pytest.raises(DataError, match=r"row 2: field 'weight': not finite"):
        read_comparisons(tmp_path / "nan.parquet")
