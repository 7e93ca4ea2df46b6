"""The runtimes that use the hardware (issue #16): ONNX graphs fused by ONNX Runtime's transformer optimizer
(fp32 and int8) for a BERT and an XLM-R (RoBERTa-style) graph, eager bf16; all agree with eager fp32. The
choice of the best checked runtime (a pure rule on given timings, from bench records, and a real probe that
writes ``choice.json``), and the profile script. Models are TEST FIXTURES: tiny random encoders built from
configs, never trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoo.runtimes import (
    MIN_COSINE,
    RuntimeUnavailable,
    TorchRuntime,
    check_agreement,
    prepare_runtime,
)

LAYERS = 2
TINY = {
    "vocab_size": 1000,
    "hidden_size": 32,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 514,
}


def _model(kind: str):
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    if kind == "bert":
        return BertModel(BertConfig(**TINY)).eval()
    return XLMRobertaModel(XLMRobertaConfig(pad_token_id=1, **TINY)).eval()


def _batches():
    """Three batches of other sizes and lengths than the export's dummy; one row padded in two of them."""
    rng = np.random.default_rng(0)
    out = []
    for b, n in ((1, 7), (3, 40), (4, 17)):
        ids = rng.integers(5, TINY["vocab_size"], (b, n)).astype(np.int64)
        mask = np.ones_like(ids)
        if b > 1:
            mask[1, n // 2 :] = 0
            ids[1, n // 2 :] = 1
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


def _agreement(rt, model, name: str) -> dict:
    batches = _batches()
    reference = [TorchRuntime(model).hidden(b) for b in batches]
    got = [rt.hidden(b) for b in batches]
    return check_agreement(reference, got, [b["attention_mask"] for b in batches], MIN_COSINE[name])


@pytest.mark.parametrize("kind", ["bert", "xlmr"])
def test_fused_graphs_are_fused_and_agree(kind, tmp_path):
    model = _model(kind)
    fp32 = prepare_runtime("onnx-fused-fp32", model, tmp_path, threads=1)
    res = _agreement(fp32.runtime, model, "onnx-fused-fp32")
    assert res["ok"] and res["min_cosine"] >= 0.9999 and res["max_abs_diff"] < 1e-3, res
    fusions = fp32.export["fusions"]
    # one attention, one bias-GELU and two skip-layer-norms per layer
    assert fusions["Attention"] == LAYERS and fusions["BiasGelu"] == LAYERS
    assert fusions["SkipLayerNormalization"] == 2 * LAYERS
    if kind == "bert":  # absolute positions: the embeddings fuse too
        assert fusions["EmbedLayerNormalization"] == 1
    else:  # RoBERTa positions come from a cumulative sum of the mask: a plain LayerNormalization stays
        assert "EmbedLayerNormalization" not in fusions and fusions["LayerNormalization"] == 1
    assert fp32.export["session_ops"]["Attention"] == LAYERS
    assert fp32.export["optimizer"]["num_heads"] == 2 and fp32.export["export_attention"] == "eager"

    int8 = prepare_runtime("onnx-fused-int8", None, tmp_path, threads=1)  # from the cached fused graph
    res8 = _agreement(int8.runtime, model, "onnx-fused-int8")
    assert res8["ok"] and res8["threshold"] == 0.99, res8
    info = int8.export
    assert info["fusions"] == fusions and info["quantization"]["reduce_range"] is True
    ops = info["session_ops"]
    assert ops["QAttention"] == LAYERS and "Attention" not in ops
    # ORT's session fused each DynamicQuantizeLinear + MatMulInteger + scale into one op
    assert ops.get("DynamicQuantizeMatMul", 0) + ops.get("MatMulIntegerToFloat", 0) >= 2 * LAYERS
    assert "MatMulInteger" not in ops
    fp32_mb = sum(p.stat().st_size for p in fp32.files)
    assert sum(p.stat().st_size for p in int8.files) < fp32_mb / 2


def test_a_graph_without_attention_fusion_is_unavailable(tmp_path):
    """A GPT-2 graph (no BERT attention pattern): the runtime says why instead of crashing."""
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    model = GPT2Model(
        GPT2Config(vocab_size=1000, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    )
    with pytest.raises(RuntimeUnavailable, match="fused no attention"):
        prepare_runtime("onnx-fused-int8", model.eval(), tmp_path, threads=1)


def test_eager_bf16_agrees_with_fp32():
    import copy

    import torch

    model = _model("bert")
    bf16 = prepare_runtime("eager-bf16", copy.deepcopy(model), Path("unused"), threads=1).runtime
    assert bf16.name == "eager-bf16" and next(bf16.model.parameters()).dtype == torch.bfloat16
    res = _agreement(bf16, model, "eager-bf16")
    assert res["ok"] and res["threshold"] == 0.999, res
    assert res["max_abs_diff"] > 0  # really computed in another precision


def test_fastest_picks_the_smallest_time():
    from zoo.bench.choice import fastest

    assert fastest({"eager": 3.0, "onnx-int8": 1.2, "onnx-fused-int8": 0.9, "eager-bf16": 5.0}) == (
        "onnx-fused-int8"
    )
    assert fastest({"onnx-int8": 1.0, "eager": 1.0}) == "eager"  # a tie: the earlier in RUNTIMES
    with pytest.raises(ValueError):
        fastest({})


def _rec(runtime: str, points: dict[int, float], ok: bool = True, setting: str = "speed-L32-cpu-t2"):
    from zoo.bench.record import BenchRecord
    from zoo.results import ModelInfo

    load = {"wall_s": 1.0, "own_cpu_s": 1.0, "cpus": 2}
    sweep = [
        {
            "batch_size": b,
            "sentences_per_s": 1000 * b / ms,
            "sentences_per_s_ci95": [1.0, 2.0],
            "n_batches": 30,
            "warmup": 3,
            "latency_p50_ms": ms,
            "latency_p95_ms": ms,
            "load": load,
        }
        for b, ms in points.items()
    ]
    best = max(sweep, key=lambda p: p["sentences_per_s"])
    details = {
        "status": "ok",
        "run_id": "run-A",
        "sweep": sweep,
        "agreement": {"ok": ok, "min_cosine": 0.999 if ok else 0.5},
    }
    rec = BenchRecord.build(
        "xh",
        ModelInfo(id="time-xh-xs", revision="r1", role="student"),
        {
            "name": setting,
            "version": 1,
            "seq_len": 32,
            "device": "cpu",
            "threads": 2,
        },
        {"sentences_per_s": best["sentences_per_s"], "latency_p50_ms": points[min(points)]},
        variant=runtime,
        details=details,
    )
    rec.environment.cpu = "CPU A"
    return rec


def test_best_runtime_per_batch_size_from_records():
    from zoo.bench.choice import best_rows, choice_from_records, render_best_markdown

    records = [
        _rec("eager", {1: 4.0, 32: 40.0}),
        _rec("onnx-int8", {1: 2.0, 32: 30.0}),
        _rec("onnx-fused-int8", {1: 1.0, 32: 35.0}),
        _rec("onnx-fused-fp32", {1: 0.5, 32: 1.0}, ok=False),  # fastest but failed its check: never chosen
    ]
    rows = {r["batch_size"]: r for r in best_rows(records)}
    assert rows[1]["runtime"] == "onnx-fused-int8" and rows[1]["next"] == "onnx-int8"
    assert rows[1]["next_slower"] == 2.0 and rows[1]["machine"] == "CPU A"
    assert rows[32]["runtime"] == "onnx-int8" and rows[32]["next"] == "onnx-fused-int8"
    assert "onnx-fused-fp32" not in rows[1]["compared"]
    md = render_best_markdown(best_rows(records))
    assert md.count("\n") == 3 and "| time-xh-xs | 32 | 1 | onnx-fused-int8 | 1.00 |" in md
    assert not rows[1]["busy"] and rows[1]["same_run"] and md.endswith("| CPU A | 2 |  |")
    found = choice_from_records(records, "time-xh-xs", "r1", "CPU A", 2, batch_size=1, seq_len=32)
    assert found["runtime"] == "onnx-fused-int8"
    assert (
        choice_from_records(records, "time-xh-xs", "r1", "CPU A", 2, batch_size=20, seq_len=32)["runtime"]
        == "onnx-int8"
    )  # nearest measured batch size: 32
    assert choice_from_records(records, "time-xh-xs", "r1", "CPU B", 2, 1, 32) is None  # another machine
    assert choice_from_records(records, "time-xh-xs", "r1", "CPU A", 4, 1, 32) is None  # other threads
    quick = _rec("onnx-fp32", {1: 0.1}, setting="speed-quick-L32-cpu-t2")  # a smoke run: its own rows
    assert [r["runtime"] for r in best_rows([*records, quick]) if r["batch_size"] == 1] == [
        "onnx-fused-int8",
        "onnx-fp32",
    ]
    assert choice_from_records([*records, quick], "time-xh-xs", "r1", "CPU A", 2, 1, 32)["runtime"] == (
        "onnx-fused-int8"
    )  # the full protocol before a quick run


def test_the_throughput_point_is_the_fastest_batch_size_not_the_largest():
    """Cards and the leaderboard quote throughput where it peaks: here batch 32 (1,000 sentences/s) beats
    batch 128 (128,000 / 160 = 800 sentences/s), as the student's int8 did in session 11."""
    from zoo.bench.choice import best_latency_and_throughput, best_latency_and_throughput_text

    records = [
        _rec("onnx-int8", {1: 2.0, 32: 32.0, 128: 160.0}),
        _rec("eager", {1: 4.0, 32: 64.0, 128: 200.0}),
    ]
    best = best_latency_and_throughput(records, "time-xh-xs")
    points = [(p["batch_size"], p["runtime"]) for p in best["points"]]
    assert points == [(1, "onnx-int8"), (32, "onnx-int8")]
    assert best_latency_and_throughput_text(best) == (
        "onnx-int8 at batch 1 (2.00 ms p50) and onnx-int8 at batch 32 (1,000 sentences/s); "
        "32 tokens on CPU A, 2 threads"
    )


def test_auto_probe_writes_its_choice(tiny_encoder, tmp_path):
    from zoo.bench.choice import fastest
    from zoo.inference import FastEncoder

    kw = {
        "runtime": "auto",
        "threads": 1,
        "cache_dir": tmp_path,
        "candidates": ("eager", "onnx-int8", "onnx-fused-int8"),
        "probe_batches": 3,
        "use_records": False,
        "batch_size": 2,
        "seq_len": 16,
    }
    enc = FastEncoder.from_pretrained(tiny_encoder, **kw)
    files = list(tmp_path.glob("*/choice.json"))
    assert len(files) == 1
    choice = json.loads(files[0].read_text(encoding="utf-8"))
    assert choice == enc.choice and choice["source"] == "probe"
    assert (choice["batch_size"], choice["seq_len"], choice["threads"]) == (2, 16, 1) and choice["cpu"]
    ev = choice["evidence"]
    assert set(ev) == {"eager", "onnx-int8", "onnx-fused-int8"} and all(e["ok"] for e in ev.values())
    assert ev["onnx-fused-int8"]["min_cosine"] >= 0.99 and ev["eager"]["min_cosine"] is None
    assert choice["runtime"] == fastest({n: e["p50_ms"] for n, e in ev.items()}) == enc.runtime_name
    assert enc.encode(["Molweni", "Ndiyabulela kakhulu."]).shape == (2, 32)
    again = FastEncoder.from_pretrained(tiny_encoder, **kw)
    assert again.choice == choice  # the same machine and call shape: read back, not probed again


def test_profile_script_shares_sum_to_one(tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "scripts"))
    import profile_runtime

    out = tmp_path / "profile.json"
    argv = ["--model", str(tiny_encoder), "--runtime", "eager,onnx-fused-int8", "--threads", "1", "--no-spin"]
    argv += ["--runs", "3", "--warmup", "1", "--roofline-m", "64", "--out", str(out)]
    assert profile_runtime.main(argv) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    # 2 layers x (4 h^2 + 2 h ffn) multiply-adds per token, + QK^T and AV, x2, x 32 tokens
    h, ffn, n = 32, 64, 32
    assert doc["flops_per_forward"] == 2 * (2 * (4 * h * h + 2 * h * ffn) + 2 * 2 * n * h) * n
    for name in ("eager", "onnx-fused-int8"):
        r = doc["runtimes"][name]
        assert r["status"] == "ok" and r["p50_ms"] > 0 and 0 < r["roofline_fraction"]
        assert abs(sum(v["share"] for v in r["op_kinds"].values()) - 1) < 1e-3
    assert any(k.startswith("aten::") for k in doc["runtimes"]["eager"]["op_kinds"])
    assert "QAttention" in doc["runtimes"]["onnx-fused-int8"]["op_kinds"]
