"""The Ray engine: the same vectors as a local run, in the same cache, resumable, and
Ray never imported unless asked for. The cluster is a local one (2 CPUs)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.encode import EmbeddingCache, get_encoder
from pluralist.encode import cache as cache_module
from pluralist.encode.engine import EmbedWorker, EngineSpec, blocks_of
from pluralist.errors import EncoderError

TEXTS = [f"text number {i}: " + "word " * (i % 7) for i in range(230)]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'pluralist[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def ray_cache(root, name: str, block_size: int = 50) -> EmbeddingCache:
    return EmbeddingCache(get_encoder(name), root, encoder_name=name,
                          engine=EngineSpec("ray", workers=2, block_size=block_size))


@pytest.mark.parametrize("name", ["hashing:32", "minilm-exact"])
def test_ray_vectors_equal_a_local_runs(ray_cluster, tmp_path, name):
    texts = TEXTS if name.startswith("hashing") else TEXTS[:24]
    local = EmbeddingCache(get_encoder(name), tmp_path / "local").embed(texts)
    remote_cache = ray_cache(tmp_path / "ray", name, block_size=10)
    remote = remote_cache.embed(texts)
    assert remote_cache.last_stats.embedded == len(texts)
    np.testing.assert_array_equal(remote, local)
    # the blocks are committed as shards of the same cache a local run reads
    again = EmbeddingCache(get_encoder(name), tmp_path / "ray")
    np.testing.assert_array_equal(again.embed(texts), local)
    assert again.last_stats.embedded == 0


def test_a_worker_of_another_variant_is_refused():
    worker = EmbedWorker("hashing:32", "hashing-v1:32:someone-else's")
    with pytest.raises(EncoderError, match="name the variant"):
        worker.embed(0, ["a text"])


def test_a_killed_run_keeps_its_finished_blocks_and_a_rerun_embeds_the_rest(tmp_path, monkeypatch):
    encoder = get_encoder("hashing:32")

    def two_blocks_then_killed(spec, name, encoder_id, texts):
        for start, block in blocks_of(texts, spec.block_size)[:2]:
            yield start, encoder.encode(block)
        raise KeyboardInterrupt   # the driver is stopped with blocks still in flight

    monkeypatch.setattr(cache_module, "ray_blocks", two_blocks_then_killed)
    with pytest.raises(KeyboardInterrupt):
        ray_cache(tmp_path, "hashing:32", block_size=50).embed(TEXTS)
    rerun = EmbeddingCache(encoder, tmp_path)
    vectors = rerun.embed(TEXTS)
    assert rerun.last_stats.embedded == len(TEXTS) - 100
    np.testing.assert_array_equal(vectors, encoder.encode(TEXTS))


def test_without_the_ray_engine_ray_is_never_imported(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a", "rejected": "b", "rater": "r"}\n')
    script = ("import sys; from pluralist.cli import cli; "
              f"cli(['embed', {str(data)!r}, '--encoder', 'hashing:32', '--cache-dir', "
              f"{str(tmp_path / 'c')!r}], standalone_mode=False); "
              "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


@pytest.mark.parametrize("options", [["--workers", "2"], ["--address", "x:1"],
                                     ["--gpus-per-worker", "1"]])
def test_ray_options_without_the_ray_engine_are_one_line_errors(tmp_path, options):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    result = CliRunner().invoke(cli, ["embed", str(data), "--encoder", "hashing:32",
                                      "--cache-dir", str(tmp_path / "c"), *options])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "need --engine ray" in result.output
    assert result.output.count("\n") == 1


def test_a_second_embedding_in_the_process_reuses_the_actors(ray_cluster, tmp_path):
    from pluralist.encode import engine

    ray_cache(tmp_path / "a", "hashing:32").embed(TEXTS[:60])
    pool = {key: list(workers) for key, workers in engine._pools.items()}
    ray_cache(tmp_path / "b", "hashing:32").embed(TEXTS[60:120])
    assert pool and {k: list(w) for k, w in engine._pools.items()} == pool


def test_a_failed_worker_is_not_reused(ray_cluster, tmp_path):
    from pluralist.encode import engine

    spec = EngineSpec("ray", workers=1, block_size=10)
    with pytest.raises(EncoderError, match="worker failed: this worker's hashing:32 is "):
        list(engine.ray_blocks(spec, "hashing:32", "hashing-v1:32:someone-else's", TEXTS[:5]))
    assert not engine._pools
