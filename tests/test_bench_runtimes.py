"""ONNX Runtime fp32 and int8 exports of a tiny random BERT agree with eager PyTorch; a broken comparison
fails the check and the runtime is recorded as failed, not timed; FastEncoder uses the checked export."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.bench.config import BenchConfig
from zoo.bench.measure import bench_runtime, prepare_model
from zoo.bench.record import BenchRecord
from zoo.models import model_from_arg
from zoo.onnx_export import export_onnx, export_root, quantize_int8
from zoo.runtimes import MIN_COSINE, OrtRuntime, TorchRuntime, check_agreement, mean_pool

XH = [
    "Abantwana baya esikolweni kusasa ngamnye ukuze bafunde.",
    "Molweni",
    "Urhulumente uza kupapasha ingxelo yakhe kwiveki ezayo, kutshilo isithethi.",
    "Ndiyabulela kakhulu ngoncedo lwakho kule veki iphelileyo.",
    "Imvula ibisana imini yonke edolophini.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory, monkeypatch_module):
    d = tmp_path_factory.mktemp("cache")
    monkeypatch_module.setenv("ZOO_CACHE_DIR", str(d))
    return d


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def tiny(tiny_encoder):
    """The tiny model's ref, tokenizer and check batches, loaded once (the XLM-R tokenizer loads slowly)."""
    ref = model_from_arg(str(tiny_encoder))
    tok = ref.load_tokenizer()
    return ref, tok, _batches(tok)


def _batches(tokenizer):
    out = []
    for texts in (XH[:3], XH[3:], XH):  # different batch sizes and padded lengths than the export's dummy
        e = tokenizer(texts, padding=True, truncation=True, max_length=48, return_tensors="np")
        out.append(
            {
                "input_ids": e["input_ids"].astype(np.int64),
                "attention_mask": e["attention_mask"].astype(np.int64),
            }
        )
    return out


def test_mean_pool_ignores_padding():
    h = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(h, np.array([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


def test_onnx_fp32_and_int8_agree_with_eager(tiny, cache):
    ref, _, batches = tiny
    model = ref.load_model()
    reference = [TorchRuntime(model).hidden(b) for b in batches]
    root = export_root(ref.id, ref.revision())
    assert str(root).startswith(str(cache))
    fp32 = export_onnx(model, root)
    int8 = quantize_int8(fp32, root)
    assert (fp32.parent / "export.json").is_file() and int8.stat().st_size < fp32.stat().st_size / 2
    masks = [b["attention_mask"] for b in batches]
    for name, path in (("onnx-fp32", fp32), ("onnx-int8", int8)):
        rt = OrtRuntime(path, name, threads=1)
        got = [rt.hidden(b) for b in batches]
        res = check_agreement(reference, got, masks, MIN_COSINE[name])
        assert res["ok"], (name, res)
        assert res["n_sentences"] == 2 * len(XH)
        if name == "onnx-fp32":
            assert res["min_cosine"] >= 0.9999 and res["max_abs_diff"] < 1e-3
    # the eager model is still in eval mode after the export (the exporter restores the wrapper's mode)
    assert not model.training
    np.testing.assert_allclose(TorchRuntime(model).hidden(batches[0]), reference[0], atol=1e-5)


def test_a_broken_comparison_fails(tiny):
    import torch
    from transformers import AutoModel

    ref, _, batches = tiny
    masks = [b["attention_mask"] for b in batches]
    good = TorchRuntime(ref.load_model())
    torch.manual_seed(1)
    other = AutoModel.from_config(ref.load_config())  # same shape, other weights
    res = check_agreement(
        [good.hidden(b) for b in batches], [TorchRuntime(other).hidden(b) for b in batches], masks, 0.99
    )
    assert not res["ok"] and res["min_cosine"] < 0.99
    bad_shape = check_agreement([np.zeros((1, 3, 4))], [np.zeros((1, 3, 5))], [np.ones((1, 3))], 0.99)
    assert not bad_shape["ok"] and "shape" in bad_shape["reason"]


def test_failed_runtime_is_recorded_as_failed_not_timed(tiny_encoder, cache, data_root):
    import torch
    from transformers import AutoModel

    cfg = BenchConfig.quick_preset(threads=1, spin=False, runtimes=("onnx-int8",))
    ref = model_from_arg(str(tiny_encoder))
    ctx = prepare_model(ref, XH * 40, cfg, ["onnx-int8"])
    torch.manual_seed(1)
    other = TorchRuntime(AutoModel.from_config(ref.load_config()))
    ctx.reference = [other.hidden(b) for b in ctx.inputs.check]  # deliberately the wrong reference
    scores, details = bench_runtime(ctx, "onnx-int8", cfg, None, "test-run")
    assert scores == {}
    assert details["status"] == "failed" and not details["agreement"]["ok"]
    assert "sweep" not in details  # never timed
    record = BenchRecord.build("xh", ref.info(ctx.params), cfg.task(), scores, "onnx-int8", details)
    assert record.to_json()["scores"] == {} and record.to_json()["details"] == details
    assert BenchRecord.from_json(record.to_json()).to_json() == record.to_json()


def test_fast_encoder_uses_the_checked_export(tiny_encoder, tiny, cache):
    from zoo.inference import FastEncoder

    onnx_cache = cache / "onnx"  # the export made above is reused; the check runs on first use
    enc = FastEncoder.from_pretrained(tiny_encoder, runtime="onnx-int8", threads=1, cache_dir=onnx_cache)
    assert enc.agreement["ok"] and enc.agreement["threshold"] == 0.99
    vecs = enc.encode(XH, batch_size=2)
    assert vecs.shape == (len(XH), 32) and vecs.dtype == np.float32
    ref, tok, _ = tiny
    e = tok(XH, padding=True, truncation=True, max_length=512, return_tensors="np")
    hidden = TorchRuntime(ref.load_model()).hidden(
        {k: e[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
    )
    eager = mean_pool(hidden, e["attention_mask"])
    cos = (vecs * eager).sum(1) / np.linalg.norm(vecs, axis=1) / np.linalg.norm(eager, axis=1)
    assert cos.min() >= 0.99
    out = enc(XH[:2])
    assert out["last_hidden_state"].shape[:2] == out["attention_mask"].shape
    checks = list(onnx_cache.glob("*/int8/check.json"))
    assert len(checks) == 1
    again = FastEncoder.from_pretrained(tiny_encoder, runtime="onnx-int8", threads=1, cache_dir=onnx_cache)
    assert again.agreement == enc.agreement  # read back from check.json, not recomputed
    # same batches, same dynamic quantisation scales: the same vectors
    np.testing.assert_allclose(again.encode(XH, batch_size=2), vecs, rtol=1e-5, atol=1e-6)
