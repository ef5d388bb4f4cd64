"""Item 8 of issue 17: every option is checked before any work, family options by
their Config's declared types and ranges; one line, exit code 2, nothing written."""

import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.errors import ModelError
from pluralist.models.registry import build_model, check_options

ROW = {"rater": "u", "chosen": "a", "rejected": "b"}


@pytest.fixture
def data(write_jsonl):
    return write_jsonl([ROW, {**ROW, "chosen": "c"}])


def run_refused(args, tmp_path):
    """Run, expect one `error:` line and exit 2, and that nothing was embedded or written."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "c").exists() and not (tmp_path / "out").exists()
    return result.output


TRAIN_BAD = [
    (["--rank", "-1"], "--rank"), (["--rank", "0"], "--rank"), (["--epochs", "0"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"), (["--batch-size", "-5"], "--batch-size"),
    (["--lr", "-1"], "--lr"), (["--lr", "0"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"), (["--seed", "-1"], "--seed"), (["--noise-rate", "nan"], "--noise-rate"),
    (["--option", "simplex=maybe"], "'simplex'"), (["--option", "l2=-5"], "'l2'"),
    (["--option", "rank=2.5"], "'rank'"), (["--option", "l2=NaN"], "'l2'"),
    (["--option", "rank=100000"], "'rank'"), (["--encoder", "hashing:4"], "hashing dimension"),
    (["--encoder", "hashing:x"], "hashing dimension"), (["--rater-column", " "], "--rater-column"),
]


@pytest.mark.parametrize("extra, named", TRAIN_BAD)
def test_train_refuses_bad_options_before_any_work(data, tmp_path, extra, named):
    output = run_refused(["train", data, "--family", "lowrank", "--out", tmp_path / "out",
                          "--encoder", "hashing:32", "--cache-dir", tmp_path / "c", *extra], tmp_path)
    assert named in output


COMPARE_BAD = [
    (["--test-fraction", "1"], "--test-fraction"), (["--test-fraction", "-0.1"], "--test-fraction"),
    (["--test-fraction", "nan"], "--test-fraction"), (["--unseen", "-1"], "--unseen"),
    (["--unseen", "nan"], "--unseen"), (["--unseen", "2.5"], "--unseen"),
    (["--shots", "-1"], "--shots"), (["--shots", "1,x"], "--shots"), (["--shots", ""], "--shots"),
    (["--draws", "0"], "--draws"), (["--epochs", "0"], "--epochs"), (["--families", ","], "--families"),
]


@pytest.mark.parametrize("extra, named", COMPARE_BAD)
def test_compare_refuses_bad_options_before_any_work(data, tmp_path, extra, named):
    output = run_refused(["compare", data, "--families", "bt", "--out", tmp_path / "out",
                          "--encoder", "hashing:32", "--cache-dir", tmp_path / "c", *extra], tmp_path)
    assert named in output


@pytest.mark.parametrize("extra", [["--shots", "1,-2"], ["--draws", "-1"], ["--seed", "-3"]])
def test_eval_refuses_bad_options_before_reading_the_model(data, tmp_path, extra):
    output = run_refused(["eval", tmp_path / "no-model", data, "--out", tmp_path / "out", *extra],
                         tmp_path)
    assert extra[0] in output


def test_a_cache_at_a_file_is_one_line(data, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("PLURALIST_CACHE", str(tmp_path / "file"))
    output = run_refused(["embed", data, "--encoder", "hashing:32"], tmp_path)
    assert "PLURALIST_CACHE" in output and "is a file" in output
    output = run_refused(["embed", data, "--encoder", "hashing:32", "--cache-dir",
                          tmp_path / "file" / "below"], tmp_path)
    assert "is a file" in output


@pytest.mark.parametrize("family, options, problem", [
    ("lowrank", {"simplex": "maybe"}, "must be true or false"),
    ("lowrank", {"simplex": 1}, "must be true or false"),
    ("bt", {"l2": -5}, "must be at least 0"),
    ("bt", {"hidden": True}, "must be an integer"),
    ("mixture", {"assignment": "fuzzy"}, "must be one of soft, hard"),
    ("gpm", {"temperature": 0}, "must be above 0"),
    ("variational", {"kl_weight": float("inf")}, "must be a finite number"),
    ("ideal_point", {"score": 3}, "must be text"),
    ("decomposed", {"ties": "sometimes"}, "must be one of rao-kupper, davidson"),
    ("lowrank", {"rater_l2": -1.0}, "must be at least 0"),
])
def test_family_options_are_checked_by_their_declared_type_and_range(family, options, problem):
    name = next(iter(options))
    with pytest.raises(ModelError, match=f"family '{family}' option '{name}': {problem}"):
        build_model(family, dim=4, raters=["u"], **options)


def test_every_config_field_has_a_declared_type_and_good_defaults_pass():
    from pluralist.models import family_names, get_family

    for family in family_names():
        assert build_model(family, dim=4, raters=["u"]).family == family
    assert check_options("bt", {"l2": 0}) == {"l2": 0.0}   # an integer where a float is meant
    assert get_family("lowrank").Config.__dataclass_fields__["rank"].metadata["range"].at_least == 1


def test_synth_refuses_a_negative_seed(tmp_path):
    result = CliRunner().invoke(cli, ["data", "synth", "--out", str(tmp_path / "s.jsonl"),
                                      "--seed", "-1"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
