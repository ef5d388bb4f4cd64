"""Fuzzing the bad-input promise (issue 17): generated malformed rows and option values
never give a traceback, an exit code other than 0 or 2, or a partly written output.
A read either gives a table that can be written and read back, or one located DataError."""

import csv
import gzip
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluralist.cli import cli
from pluralist.data import read_comparisons, read_rankings, read_ratings, write_comparisons
from pluralist.errors import DataError

FIELDS = ["rater", "prompt", "chosen", "rejected", "tie", "strength", "weight", "margin", "group",
          "id", "chosen_first", "score", "text", "responses", "annotator"]
AWKWARD = ["", " ", "nan", "NaN", "inf", "-1", "0", "1", "1e308", "1e-50", "true", "maybe",
           "\ud800", "a\u2028b", "x\ny", "\x85", "\"quoted\"", "a,b"]
message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]),
                                 "content": st.sampled_from(["hi", "", "\ud800"])})
values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**30, 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(AWKWARD),
    st.text(max_size=6), st.lists(message, max_size=2),
    st.lists(st.sampled_from(["a", "b", "", "c"]), max_size=3), st.dictionaries(st.just("k"), st.none()))
records = st.dictionaries(st.sampled_from(FIELDS), values, max_size=7)
# records that are mostly right, so that some files read and go on to be written
near_good = st.builds(lambda extra, i: {"rater": "u", "chosen": f"a{i}", "rejected": f"b{i}",
                                        "text": f"t{i}", "score": i, "responses": ["x", f"y{i}"],
                                        **extra},
                      st.dictionaries(st.sampled_from(FIELDS), values, max_size=2),
                      st.integers(0, 3))
rows = st.lists(st.one_of(records, near_good, near_good, st.sampled_from(["{broken", "[1, 2]", "7"])),
                max_size=5)
READERS = {"comparisons": read_comparisons, "ratings": read_ratings, "rankings": read_rankings}
FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def write_jsonl(path: Path, items, ascii_only: bool) -> None:
    lines = [item if isinstance(item, str) else json.dumps(item, ensure_ascii=ascii_only)
             for item in items]
    # surrogatepass: a lone surrogate written raw is bytes that are not UTF-8
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass"))


def write_csv(path: Path, items) -> None:
    dicts = [item for item in items if isinstance(item, dict)]
    columns = list(dict.fromkeys(k for item in dicts for k in item)) or ["chosen"]
    with open(path, "w", newline="", encoding="utf-8", errors="surrogatepass") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for item in dicts:
            writer.writerow({k: "" if v is None else str(v) for k, v in item.items()})


def assert_read_or_one_located_error(path: Path, kind: str, rater_column=None):
    try:
        table = READERS[kind](path, rater_column=rater_column)
    except DataError as err:
        assert str(path) in str(err) and "\n" not in str(err)
        return None
    assert len(table) > 0
    for column in (table.strength, table.weight):
        assert np.all(np.isfinite(column.astype(np.float32)))
    assert np.all(table.weight.astype(np.float32) > 0)
    for column in (table.rater, table.prompt, table.chosen, table.rejected, table.id, table.group):
        assert all(isinstance(text, str) for text in column)
        "".join(column).encode("utf-8")   # no lone surrogate got through
    return table


@FAST
@given(items=rows, ascii_only=st.booleans(), kind=st.sampled_from(sorted(READERS)),
       rater_column=st.sampled_from([None, "rater", "annotator", "nobody"]))
def test_jsonl_readers_give_a_table_or_one_located_error(items, ascii_only, kind, rater_column):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.jsonl"
        write_jsonl(path, items, ascii_only)
        table = assert_read_or_one_located_error(path, kind, rater_column)
        if table is not None:   # what was read can be written and read back as it was
            write_comparisons(table, Path(folder) / "back.jsonl")
            back = read_comparisons(Path(folder) / "back.jsonl")
            assert back.chosen.tolist() == table.chosen.tolist()
            assert back.weight.tolist() == table.weight.tolist()


@FAST
@given(items=rows, kind=st.sampled_from(sorted(READERS)))
def test_csv_readers_give_a_table_or_one_located_error(items, kind):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        write_csv(path, items)
        assert_read_or_one_located_error(path, kind)


@settings(max_examples=30, deadline=None, database=None)
@given(data=st.binary(max_size=80), at=st.integers(0, 60))
def test_damaged_gzip_gives_one_located_error(data, at):
    packed = bytearray(gzip.compress(b'{"rater": "u", "chosen": "a", "rejected": "b"}\n' * 3))
    packed[at:at + len(data)] = data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.jsonl.gz"
        path.write_bytes(bytes(packed))
        assert_read_or_one_located_error(path, "comparisons")


# --- the command line ----------------------------------------------------------------

NUMBERS = ["-1", "0", "1", "2", "0.5", "0.99", "nan", "inf", "-inf", "1e308", "abc", "", "1,2",
           "3.0", "-0", "1e-320", "0,1", "4294967296"]
number = st.sampled_from(NUMBERS)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small benchmark (6 raters, 8 comparisons each) and a warm embedding cache."""
    root = tmp_path_factory.mktemp("fuzz")
    data = root / "d.jsonl"
    result = CliRunner().invoke(cli, ["data", "synth", "--out", str(data), "--raters", "6",
                                      "--comparisons-per-rater", "8"])
    assert result.exit_code == 0, result.output
    return data, root / "cache"


def invoke_and_check(args: list[str], out: Path):
    """Exit 0 with the output complete, or exit 2 with one line on stderr and no output
    file at all (progress printed on stdout before the failure may stand)."""
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, \
            (args, result.stderr)
        assert not out.exists(), args
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], (args, leftovers)   # no staging or temporary file left behind
    return result


def options(pairs: dict) -> list[str]:
    return [part for name, value in pairs.items() for part in (name, value)]


TRAIN_OPTIONS = st.dictionaries(
    st.sampled_from(["--epochs", "--batch-size", "--lr", "--seed", "--rank", "--noise-rate"]),
    number, max_size=4)
FAMILY_OPTIONS = st.lists(st.tuples(st.sampled_from(["rank", "simplex", "l2", "rater_l2", "ties",
                                                     "hidden", "bogus"]),
                                    st.sampled_from(NUMBERS + ["true", "false", "maybe", "davidson"])),
                          max_size=2)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(family=st.sampled_from(["bt", "lowrank"]), picked=TRAIN_OPTIONS, family_options=FAMILY_OPTIONS,
       encoder=st.sampled_from(["hashing:32", "hashing:32", "hashing:4", "hashing:x"]))
def test_train_options(workspace, family, picked, family_options, encoder):
    data, cache = workspace
    picked = {"--epochs": "1", **picked}
    if picked["--epochs"] not in ("-1", "0", "1", "2", "abc", ""):
        picked["--epochs"] = "2"   # a long run says nothing more about the options
    extra = [part for key, value in family_options for part in ("--option", f"{key}={value}")]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "model"
        result = invoke_and_check(["train", str(data), "--family", family, "--out", str(out),
                                   "--encoder", encoder, "--cache-dir", str(cache),
                                   *options(picked), *extra], out)
        if result.exit_code == 0:
            assert (out / "config.json").is_file()


COMPARE_OPTIONS = st.dictionaries(
    st.sampled_from(["--unseen", "--test-fraction", "--shots", "--draws", "--epochs", "--seed"]),
    number, max_size=4)


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(picked=COMPARE_OPTIONS)
def test_compare_options(workspace, picked):
    data, cache = workspace
    picked = {"--epochs": "1", "--draws": "1", "--shots": "0,1", **picked}
    for name, cap in (("--epochs", "2"), ("--draws", "2")):
        if picked[name] not in ("-1", "0", "1", "2", "abc", ""):
            picked[name] = cap
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report"
        result = invoke_and_check(["compare", str(data), "--families", "bt", "--out", str(out),
                                   "--encoder", "hashing:32", "--cache-dir", str(cache),
                                   *options(picked)], out)
        if result.exit_code == 0:
            assert (out / "report.html").is_file() and (out / "metrics.json").is_file()


def test_compare_with_shots_that_leave_out_zero(workspace):
    data, cache = workspace
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report"
        invoke_and_check(["compare", str(data), "--families", "bt", "--out", str(out),
                          "--encoder", "hashing:32", "--cache-dir", str(cache), "--epochs", "1",
                          "--draws", "1", "--shots", "1"], out)


SYNTH_OPTIONS = st.dictionaries(
    st.sampled_from(["--seed", "--raters", "--comparisons-per-rater", "--noise", "--adversarial",
                     "--position-bias", "--careless"]), number, max_size=4)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(picked=SYNTH_OPTIONS, suffix=st.sampled_from([".jsonl", ".parquet", ".csv", ".jsonl.gz"]))
def test_synth_and_convert_options(workspace, picked, suffix):
    data, _ = workspace
    for name in ("--raters", "--comparisons-per-rater"):
        if picked.get(name) in ("1e308", "4294967296"):
            picked[name] = "3"   # a huge benchmark says nothing more about the options
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"s{suffix}"
        result = invoke_and_check(["data", "synth", "--out", str(out), "--raters", "3",
                                   "--comparisons-per-rater", "3", *options(picked)], out)
        if result.exit_code == 0:
            assert len(read_comparisons(out)) > 0
        converted = Path(folder) / f"c{suffix}"
        column = picked.get("--seed", "rater")
        invoke_and_check(["data", "convert", str(data), "--out", str(converted),
                          "--rater-column", column], converted)
