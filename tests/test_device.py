"""--device: where encoders run, carried in the encoder's name. This machine has no GPU,
so a GPU's presence is simulated where only the choice is tested (scripts/gpu_check.sh
runs the encoders on a real one)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.encode import EmbedSpec
from pluralist.encode import device
from pluralist.encode.engine import EngineSpec
from pluralist.errors import EncoderError


@pytest.fixture
def gpu(monkeypatch):
    monkeypatch.setattr(device, "cuda_available", lambda: True)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(device, "cuda_available", lambda: False)


@pytest.mark.parametrize("name, placed", [("minilm", "minilm@cuda"), ("minilm-exact", "minilm-exact@cuda"),
                                          ("minilm-int8", "minilm-int8"), ("hashing:32", "hashing:32")])
def test_auto_puts_transformer_encoders_on_a_gpu(gpu, name, placed):
    assert EmbedSpec(name).encoder == placed


def test_auto_stays_on_the_cpu_without_a_gpu(no_gpu):
    assert EmbedSpec("minilm").encoder == "minilm"
    assert EmbedSpec("minilm", device="cpu").encoder == "minilm"


def test_ray_actors_get_the_gpu_only_when_they_reserve_one(gpu):
    assert EmbedSpec("minilm", engine=EngineSpec("ray")).encoder == "minilm"
    assert EmbedSpec("minilm", engine=EngineSpec("ray", gpus_per_worker=1)).encoder == "minilm@cuda"
    with pytest.raises(EncoderError, match="--gpus-per-worker"):
        EmbedSpec("minilm", engine=EngineSpec("ray"), device="cuda")


def test_a_recorded_name_is_rebuilt_as_recorded(gpu):
    # a model trained on the CPU keeps its CPU vectors on a GPU machine
    assert EmbedSpec("minilm", device=None).encoder == "minilm"
    assert EmbedSpec("minilm@cuda", device=None).encoder == "minilm@cuda"


def test_a_gpu_name_is_refused_where_there_is_no_gpu(no_gpu):
    with pytest.raises(EncoderError, match="needs a CUDA GPU"):
        EmbedSpec("minilm@cuda", device=None)
    with pytest.raises(EncoderError, match="--device cpu was asked"):
        EmbedSpec("minilm@cuda", device="cpu")


def test_cpu_only_encoders_are_refused_on_cuda(gpu):
    for name in ("hashing:32", "minilm-int8", "minilm-int8@cuda"):
        with pytest.raises(EncoderError, match="CPU only"):
            EmbedSpec(name, device="cuda")


def test_device_cuda_on_a_cpu_machine_is_one_line_exit_2(no_gpu, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a", "rejected": "b", "rater": "r"}\n')
    result = CliRunner().invoke(cli, ["embed", str(data), "--device", "cuda",
                                      "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: encoder 'minilm@cuda' needs a CUDA GPU, and this machine has none that torch "
        "can use (use --device cpu)"]
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*.npy"))


def test_torch_is_not_imported_to_look_for_a_gpu_without_a_driver(monkeypatch):
    import sys

    device.cuda_available.cache_clear()
    monkeypatch.setattr(device, "_NVIDIA_FILES", ("/nonexistent/nvidia0",))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr("builtins.__import__", _refusing_torch(__import__))
    try:
        assert device.cuda_available() is False
    finally:
        device.cuda_available.cache_clear()


def _refusing_torch(real_import):
    def guarded(name, *args, **kwargs):
        if name == "torch":
            raise AssertionError("torch was imported")
        return real_import(name, *args, **kwargs)
    return guarded
