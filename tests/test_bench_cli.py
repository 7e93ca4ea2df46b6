"""``zoo bench --quick`` end to end on a tiny random model for xh: records with the schema, the table, and
records skipped on rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zoo.bench.record import BenchRecord, load_bench_records
from zoo.evaluation.numerics import cpu_bf16_flags
from zoo.results import SCHEMA, load_records

SCORE_KEYS = {
    "sentences_per_s",
    "sentences_per_s_ci95",
    "tokens_per_s",
    "best_batch_size",
    "latency_p50_ms",
    "latency_p95_ms",
    "peak_memory_mb",
    "disk_mb",
    "energy_j_per_1k_sentences",
}


def zoo(*args: str, env: dict[str, str]):
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        timeout=600,
    )


def test_zoo_bench_quick_end_to_end(tiny_encoder, data_root, tmp_path):
    env = {"ZOO_CACHE_DIR": str(tmp_path / "cache"), "ZOO_DATA_DIR": str(data_root)}
    args = ("bench", "--lang", "xh", "--quick", "--model", str(tiny_encoder), "--threads", "1")
    proc = zoo(*args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the CPU default: every runtime but compile, and eager-bf16 only on a CPU with native bf16
    native_bf16 = cpu_bf16_flags() != set()
    assert f"{6 if native_bf16 else 5} measured, 0 failed, 0 skipped" in proc.stderr
    assert native_bf16 or "eager-bf16 left out: the CPU lists no native bf16" in proc.stderr
    for needle in (
        "sent/s [95% CI]",
        "p50/p95 ms",
        "eager",
        "onnx-fp32",
        "onnx-int8",
        "not measured",
        "speed-quick-L32-cpu-t1",
        "onnx-fused-int8",
        "Best checked runtime per batch size and sequence length",
    ):
        assert needle in proc.stdout, proc.stdout

    records = load_records("xh", kind="bench")
    assert sorted(r["variant"] for r in records) == sorted(
        ["eager", "onnx-fp32", "onnx-int8", "onnx-fused-fp32", "onnx-fused-int8"]
        + ["eager-bf16"] * native_bf16
    )
    run_ids = {r["details"]["run_id"] for r in records}
    assert len(run_ids) == 1
    for r in records:
        assert r["schema"] == SCHEMA and r["lang"] == "xh"
        assert r["task"]["family"] == "speed" and r["task"]["seq_len"] == 32 and r["task"]["threads"] == 1
        assert set(r["scores"]) == SCORE_KEYS
        s, d = r["scores"], r["details"]
        lo, hi = s["sentences_per_s_ci95"]
        assert lo <= s["sentences_per_s"] <= hi and s["sentences_per_s"] > 0
        assert s["tokens_per_s"] == round(
            s["sentences_per_s"] * 32, 1
        )  # every pool sentence has >= 32 tokens
        assert s["latency_p50_ms"] <= s["latency_p95_ms"]
        assert s["best_batch_size"] in (1, 8)
        assert (
            r["model"]["params"]["total"]
            == r["model"]["params"]["embedding"] + r["model"]["params"]["encoder"]
        )
        assert d["energy_method"] in ("rapl", "not measured")
        assert (s["energy_j_per_1k_sentences"] is None) == (d["energy_method"] == "not measured")
        assert d["threads"] == 1 and d["agreement"]["ok"] and isinstance(d["busy"], bool)
        assert d["tokenisation"]["sentences_per_s"] > 0
        assert [p["batch_size"] for p in d["sweep"]] == [1, 8]
        assert all(p["n_batches"] >= 5 for p in d["sweep"])
        assert d["inputs"]["full_length_fraction"] == 1.0 and len(d["inputs"]["files"]) >= 1
        assert d["roofline"]["int8_gops_ort"] > 0
    int8 = next(r for r in records if r["variant"] == "onnx-int8")
    assert int8["details"]["agreement"]["threshold"] == 0.99 and int8["details"]["dtype"] == "int8"
    assert (
        int8["scores"]["disk_mb"]
        < next(r for r in records if r["variant"] == "onnx-fp32")["scores"]["disk_mb"]
    )

    work = Path(os.environ["ZOO_WORK_DIR"])
    files = sorted((work / "results").rglob("*.json"))
    for path in files:  # the typed record reads each file back exactly as it was written
        assert BenchRecord.read(path).to_json() == json.loads(path.read_text(encoding="utf-8"))
    typed = load_bench_records("xh")
    assert [r.to_json() for r in typed] == records and all(r.measured for r in typed)
    stamps = {p: p.stat().st_mtime_ns for p in files}
    again = zoo(*args, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"0 measured, 0 failed, {len(records)} skipped" in again.stderr
    assert "onnx-int8" in again.stdout  # the table still shows the stored records
    assert {p: p.stat().st_mtime_ns for p in files} == stamps
    assert json.loads(files[0].read_text())["details"]["run_id"] in run_ids
