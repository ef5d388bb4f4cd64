"""Model directories and profiles: --out never removes anything but a previous model,
replacement is one step, and damaged or mismatched files give one located line."""

import hashlib
import json
import os
import subprocess
import sys

import pytest
import safetensors.torch
import torch
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.errors import ModelError
from pluralist.models import build_model, family_names, load_model, save_model

ENCODER = ["--encoder", "hashing:32"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result, *fragments):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert str(fragment) in result.output, result.output


def train(data, out, cache, *extra):
    return run("train", data, "--family", "lowrank", "--rank", 2, *ENCODER, "--epochs", 2,
               "--out", out, "--cache-dir", cache, *extra)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Data, a cache, two lowrank models of one shape (other seeds) and profiles of model a."""
    root = tmp_path_factory.mktemp("trained")
    data, cache = root / "d.jsonl", root / "cache"
    assert run("data", "synth", "--out", data, "--raters", 30, "--comparisons-per-rater", 20).exit_code == 0
    for name, seed in (("a", 0), ("b", 1)):
        assert train(data, root / name, cache, "--seed", seed).exit_code == 0
    rows = [json.loads(line) for line in data.read_text().splitlines()[:12]]
    new = root / "new.jsonl"
    new.write_text("".join(json.dumps({**row, "rater": "newcomer"}) + "\n" for row in rows))
    assert run("adapt", root / "a", new, "--out", root / "profile.json", "--cache-dir", cache).exit_code == 0
    return root


def snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def weights(model):
    return (model / "model.safetensors").read_bytes()


# --- item 1: --out never loses a file ---------------------------------------------------

def test_train_out_holding_anything_but_a_previous_model_is_refused_before_any_work(trained, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "d.jsonl").write_bytes((trained / "d.jsonl").read_bytes())
    before = snapshot(folder)
    one_error_line(train(folder / "d.jsonl", folder, tmp_path / "cache"), folder, "d.jsonl", "refusing")
    assert snapshot(folder) == before and not (tmp_path / "cache").exists()  # nothing embedded

    # a previous model may be replaced; a model directory with a user's file in it may not
    model = tmp_path / "model"
    assert train(trained / "d.jsonl", model, tmp_path / "c").exit_code == 0
    assert train(trained / "d.jsonl", model, tmp_path / "c", "--seed", 3).exit_code == 0
    (model / "notes.txt").write_text("mine")
    before = snapshot(model)
    one_error_line(train(trained / "d.jsonl", model, tmp_path / "c"), model, "notes.txt")
    assert snapshot(model) == before
    # nor a directory whose config.json is not a pluralist model's
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"hidden_size": 3}')
    one_error_line(train(trained / "d.jsonl", other, tmp_path / "c"), other, "not a previous model")
    assert (other / "config.json").read_text() == '{"hidden_size": 3}'


# --- item 2: replacement in one step, leftovers of killed runs removed --------------------

def test_replacing_a_model_leaves_a_complete_model_at_every_moment(trained, tmp_path, monkeypatch):
    model = tmp_path / "m"
    save_model(load_model(trained / "a"), model)
    before = snapshot(model)
    real_rename = os.rename

    def killed_after_one_rename(src, dst, *args, **kwargs):
        monkeypatch.setattr(os, "rename", real_rename)
        real_rename(src, dst)
        raise KeyboardInterrupt   # the process dies after the first rename of a replacement

    monkeypatch.setattr(os, "rename", killed_after_one_rename)
    monkeypatch.setattr("pathlib.Path.rename", lambda self, dst: killed_after_one_rename(self, dst))
    try:
        save_model(load_model(trained / "b"), model)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert snapshot(model) == before or weights(model) == weights(trained / "b")
    load_model(model)   # complete: config and weights of one model


_KILLED_SAVE = """
import os, sys
import pluralist.fileio as fileio
from pluralist.models import load_model, save_model
fileio._swap_into_place = lambda staging, target: os._exit(9)   # killed before the swap
save_model(load_model(sys.argv[1]), sys.argv[2])
"""


def test_staging_directories_of_killed_runs_are_removed_and_nothing_else(trained, tmp_path):
    from pluralist.fileio import remove_stale_staging

    model = tmp_path / "m"
    save_model(load_model(trained / "a"), model)
    killed = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(trained / "b"), str(model)])
    assert killed.returncode == 9
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]
    assert len(leftovers) == 1 and weights(model) == weights(trained / "a")
    (tmp_path / ".m.backup").mkdir()   # a user's directory of a similar name is kept
    save_model(load_model(trained / "b"), model)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.backup", "m"]
    assert weights(model) == weights(trained / "b")
    assert remove_stale_staging(model) == []


# --- item 3: compare without held-out seen comparisons ------------------------------------

@pytest.mark.parametrize("per_rater, extra", [(2, []), (20, ["--test-fraction", "0"])])
def test_compare_without_held_out_seen_comparisons_says_so_before_any_work(tmp_path, per_rater, extra):
    data = tmp_path / "d.jsonl"
    assert run("data", "synth", "--out", data, "--raters", 30,
               "--comparisons-per-rater", per_rater).exit_code == 0
    result = run("compare", data, "--families", "bt", *ENCODER, "--epochs", 2, "--out",
                 tmp_path / "report", "--cache-dir", tmp_path / "cache", *extra)
    one_error_line(result, data, "held-out")
    assert not (tmp_path / "report").exists() and not (tmp_path / "cache").exists()


# --- item 4: parameters that are not finite -------------------------------------------------

def test_a_model_whose_parameters_are_not_finite_is_never_saved(trained, tmp_path):
    model = build_model("lowrank", dim=32, raters=("r1", "r2"), rank=2)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(ModelError, match="not finite"):
        save_model(model, tmp_path / "new")
    previous = tmp_path / "previous"
    save_model(load_model(trained / "a"), previous)
    before = snapshot(previous)
    with pytest.raises(ModelError, match="not finite"):
        save_model(model, previous)
    assert snapshot(previous) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["previous"]


# --- item 7: profiles carry the model's identity; damaged files are one located line --------

def test_a_profile_made_with_another_model_is_refused(trained):
    cache = trained / "cache"
    ok = run("score", trained / "a", "yes", "no", "--rater", "newcomer", "--profile",
             trained / "profile.json", "--cache-dir", cache)
    assert ok.exit_code == 0 and "adapted profile" in ok.output
    # model b: the same family, rank and encoder, trained with another seed
    result = run("score", trained / "b", "yes", "no", "--rater", "newcomer", "--profile",
                 trained / "profile.json", "--cache-dir", cache)
    one_error_line(result, trained / "profile.json", "another model")


def _edit_profile(doc, how):
    theta = doc["profiles"]["newcomer"]["values"]["theta"]
    if how == "short":
        doc["profiles"]["newcomer"]["values"]["theta"] = theta[:1]
    elif how == "nan":
        theta[0] = float("nan")
    elif how == "huge":
        theta[0] = 1e308   # finite in float64, not in float32
    elif how == "text":
        theta[0] = "0.5"
    elif how == "count":
        doc["profiles"]["newcomer"]["comparisons"] = -3
    elif how == "no identity":
        del doc["model_identity"]
    elif how == "list":
        doc = [doc]
    return json.dumps(doc)


@pytest.mark.parametrize("how, fragment", [
    ("truncated", "malformed JSON"), ("short", "field 'values.theta'"),
    ("nan", "field 'values.theta'"), ("huge", "float32"), ("text", "field 'values.theta'"),
    ("count", "field 'comparisons'"), ("no identity", "identity"), ("list", "JSON object")])
def test_a_damaged_profile_is_one_located_line(trained, tmp_path, how, fragment):
    text = (trained / "profile.json").read_text()
    damaged = tmp_path / "profile.json"
    damaged.write_text(text[: len(text) // 2] if how == "truncated" else _edit_profile(json.loads(text), how))
    result = run("score", trained / "a", "yes", "no", "--rater", "newcomer", "--profile", damaged,
                 "--cache-dir", trained / "cache")
    one_error_line(result, damaged, fragment)


def _damage_model(model, how):
    config, weights = model / "config.json", model / "model.safetensors"
    meta = json.loads(config.read_text())
    if how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:-10])
    elif how == "garbage weights":
        weights.write_bytes(b"\x00garbage" * 20)
    elif how == "weights unreadable":
        weights.unlink()
        weights.mkdir()
    elif how == "infinite weights":
        state = {k: v.clone() for k, v in safetensors.torch.load_file(weights).items()}
        next(v for v in state.values() if v.is_floating_point()).fill_(float("inf"))
        safetensors.torch.save_file(state, weights)
        meta["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
        config.write_text(json.dumps(meta))
    elif how == "config not JSON":
        config.write_text(config.read_text()[:40])
    elif how == "config missing a key":
        del meta["dim"]
        config.write_text(json.dumps(meta))
    elif how == "unknown family":
        meta["family"] = "magic"
        config.write_text(json.dumps(meta))


@pytest.mark.parametrize("how, fragment", [
    ("truncated weights", "model.safetensors"), ("garbage weights", "model.safetensors"),
    ("weights unreadable", "cannot read"), ("infinite weights", "not finite"),
    ("config not JSON", "malformed JSON"), ("config missing a key", "'dim'"),
    ("unknown family", "unknown family 'magic'")])
def test_a_damaged_model_directory_is_one_located_line(trained, tmp_path, how, fragment):
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):
        (model / name).write_bytes((trained / "a" / name).read_bytes())
    _damage_model(model, how)
    result = run("score", model, "yes", "no", "--rater", "r0001", "--cache-dir", trained / "cache")
    one_error_line(result, model, fragment)


# --- item 13: permissions, and a mismatch message that names no missing option ---------------

def test_model_files_are_created_with_the_umask(trained, tmp_path):
    old = os.umask(0o022)
    try:
        save_model(load_model(trained / "a"), tmp_path / "m")
    finally:
        os.umask(old)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / "m" / name).stat().st_mode & 0o777 == 0o644


def test_an_encoder_that_changed_since_training_is_refused_without_naming_an_option(trained, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):
        (model / name).write_bytes((trained / "a" / name).read_bytes())
    meta = json.loads((model / "config.json").read_text())
    meta["encoder_id"] = "hashing-v0:32"   # as if the encoder's version had changed since
    (model / "config.json").write_text(json.dumps(meta))
    result = run("score", model, "yes", "--cache-dir", trained / "cache")
    one_error_line(result, model, "hashing-v0:32", "train the model again")
    assert "--encoder" not in result.output


@pytest.mark.parametrize("family", family_names())
def test_every_familys_profiles_pass_the_check_score_applies(tmp_path, family):
    from pluralist.models.data import Batch
    from pluralist.models.io import profile_document, read_profile

    model = build_model(family, dim=16, raters=("a", "b"), seed=0).eval()
    emb = torch.randn(5, 16, generator=torch.Generator().manual_seed(0))
    batch = Batch(emb, emb.flip(0), torch.zeros(5, dtype=torch.long), emb, torch.full((5,), -1),
                  torch.zeros(5, dtype=torch.bool), torch.zeros(5), torch.ones(5))
    with torch.no_grad():
        profile = model.adapt(batch)
    (tmp_path / "p.json").write_text(json.dumps(profile_document(model, "m", {"new": profile})))
    assert read_profile(tmp_path / "p.json", "new", model, "m") == profile
