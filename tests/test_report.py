"""compare / eval end to end on a small benchmark, and the report as a user sees it."""

import base64
import io
import json
import re

import pytest
from click.testing import CliRunner

from pluralist.cli import cli

SECTIONS = ("summary", "setup", "kshot", "groups", "calibration", "raters", "rater-map",
            "reliability", "diagnostics", "reproduce")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    data = root / "b.jsonl"
    assert run("data", "synth", "--out", data, "--raters", 40, "--comparisons-per-rater", 40).exit_code == 0
    return root, data


@pytest.fixture(scope="module")
def compared(small_bench):
    root, data = small_bench
    out = root / "report"
    result = run("compare", data, "--families", "bt,lowrank,mixture", "--encoder", "hashing:64",
                 "--unseen", 10, "--shots", "0,5,20,60", "--draws", 2, "--epochs", 8,
                 "--out", out, "--cache-dir", root / "c")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_compare_writes_every_number_and_a_ranking(compared):
    out, output = compared
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["ranking"]) == {"bt", "lowrank", "mixture"}
    for result in metrics["families"].values():
        assert 0 <= result["seen"]["accuracy"] <= 1
        assert result["seen"]["bayes_accuracy"] > result["seen"]["accuracy"] - 0.1
        ks = [p["k"] for p in result["unseen_kshot"]]
        assert ks == [0, 5, 20, 60]
        # 40 comparisons per rater -> pools of 20: k = 60 cannot be computed, and says so
        assert "note" in result["unseen_kshot"][-1] and "accuracy" not in result["unseen_kshot"][-1]
    assert metrics["meta"]["command"].startswith("pluralist compare")
    assert "| rank | family |" in output and "report:" in output


def test_report_has_every_section_and_every_image_decodes(compared):
    from PIL import Image

    out, _ = compared
    page = (out / "report.html").read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 4
    for encoded in images:
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        image.verify()
    assert "nan" not in (out / "summary.md").read_text().lower()


def _train_then_eval(root, tmp_path, train_file, eval_file, family, *, epochs):
    """`train` on one file, then `eval` the saved model on another: (CLI result, metrics)."""
    assert run("train", train_file, "--family", family, "--encoder", "hashing:64", "--epochs", epochs,
               "--out", tmp_path / "m", "--cache-dir", root / "c").exit_code == 0
    result = run("eval", tmp_path / "m", eval_file, "--out", tmp_path / "r", "--shots", "0,5",
                 "--cache-dir", root / "c")
    assert result.exit_code == 0, result.output
    return result, json.loads((tmp_path / "r" / "metrics.json").read_text())


def test_eval_of_a_saved_model_on_a_held_out_file(small_bench, tmp_path):
    root, data = small_bench
    lines = data.read_text().splitlines()
    train_file, test_file = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    rows = [json.loads(l) for l in lines]
    train_raters = {f"r{i:04d}" for i in range(30)}
    train_file.write_text("".join(json.dumps(r) + "\n" for r in rows[::2] if r["rater"] in train_raters))
    test_file.write_text("".join(json.dumps(r) + "\n" for r in rows[1::2]))
    result, metrics = _train_then_eval(root, tmp_path, train_file, test_file, "lowrank", epochs=5)
    family = metrics["families"]["lowrank"]
    assert family["seen"]["raters"] == 30
    assert metrics["meta"]["split"]["unseen_raters"] == 10


def test_split_without_unseen_raters_is_a_clear_error(small_bench):
    root, data = small_bench
    result = run("compare", data, "--families", "bt", "--encoder", "hashing:64", "--unseen", 0,
                 "--out", root / "x", "--cache-dir", root / "c")
    assert result.exit_code == 2 and "no unseen raters" in result.output
    assert not (root / "x").exists()


def test_eval_on_a_file_of_only_new_raters_says_seen_metrics_are_absent(small_bench, tmp_path):
    root, data = small_bench
    rows = [json.loads(l) for l in data.read_text().splitlines()]
    train_file, new_file = tmp_path / "train.jsonl", tmp_path / "new.jsonl"
    train_file.write_text("".join(json.dumps(r) + "\n" for r in rows if r["rater"] < "r0020"))
    new_file.write_text("".join(json.dumps(r) + "\n" for r in rows if r["rater"] >= "r0020"))
    result, metrics = _train_then_eval(root, tmp_path, train_file, new_file, "bt", epochs=3)
    assert "seen-rater metrics are absent" in metrics["meta"]["notes"][0]
    assert metrics["families"]["bt"]["unseen_kshot"][1]["raters"] == 20
    assert "n/a" in result.output


def test_the_reliability_section_shows_the_z_score_a_rater_must_exceed(compared):
    out, _ = compared
    metrics = json.loads((out / "metrics.json").read_text())
    page = (out / "report.html").read_text()
    section = page.split('<section id="reliability">')[1].split("</section>")[0]
    assert "reversal z-score that stands out" in section
    for result in metrics["families"].values():
        assert f"{result['reliability']['reversal_z_floor']:+.2f}" in section
