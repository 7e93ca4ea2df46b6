"""The speed table: ratios only within one run and one runtime, failed and busy rows labelled, markdown."""

from __future__ import annotations

from zoo.bench.record import BenchRecord
from zoo.bench.tables import render_markdown, table_rows
from zoo.results import ModelInfo


def _rec(model_id: str, role: str, runtime: str, sps: float | None, run_id: str, busy: bool = False):
    info = ModelInfo(
        id=model_id, revision="r1", role=role, params={"total": 10, "embedding": 4, "encoder": 6}
    )
    task = {"name": "speed-L32-cpu-t2", "family": "speed", "version": 1, "seq_len": 32}
    scores = (
        {}
        if sps is None
        else {
            "sentences_per_s": sps,
            "sentences_per_s_ci95": [sps * 0.9, sps * 1.1],
            "tokens_per_s": sps * 32,
            "best_batch_size": 32,
            "latency_p50_ms": 1.0,
            "latency_p95_ms": 2.0,
            "peak_memory_mb": 10.0,
            "disk_mb": 1.0,
            "energy_j_per_1k_sentences": None,
        }
    )
    details = {
        "run_id": run_id,
        "busy": busy,
        "max_foreign_cpus": 1.5 if busy else 0.0,
        "energy_method": "not measured",
        "status": "ok" if scores else "failed",
    }
    if not scores:
        details["reason"] = "outputs disagree with the eager model; not timed"
    return BenchRecord.build("xh", info, task, scores, variant=runtime, details=details)


def test_ratios_are_within_one_run_and_runtime():
    records = [
        _rec("time-xh-xs", "student", "eager", 300.0, "run-A"),
        _rec("time-xh-xs", "student", "onnx-int8", 1500.0, "run-A", busy=True),
        _rec("teacher", "teacher", "eager", 30.0, "run-A"),
        _rec("teacher", "teacher", "onnx-int8", 100.0, "run-B"),  # another run: no ratio
        _rec("shape/xlm-roberta-large", "shape-baseline", "eager", 10.0, "run-A"),
        _rec("shape/xlm-roberta-large", "shape-baseline", "onnx-int8", None, "run-A"),  # failed
    ]
    rows = {(r["model"], r["runtime"]): r for r in table_rows(records)}
    assert rows[("time-xh-xs", "eager")]["x teacher"] == "10.00x"
    assert rows[("time-xh-xs", "eager")]["x XLM-R-large"] == "30.00x"
    assert rows[("time-xh-xs", "onnx-int8")]["x teacher"] == "other run"
    assert rows[("time-xh-xs", "onnx-int8")]["x XLM-R-large"] == "-"  # the reference failed
    assert "busy: others used up to 1.50 CPUs" in rows[("time-xh-xs", "onnx-int8")]["notes"]
    failed = rows[("shape/xlm-roberta-large", "onnx-int8")]
    assert failed["sentences/s (95% CI)"] == "-" and failed["notes"].startswith("FAILED: outputs disagree")
    assert failed["kind"] == "shape baseline (random weights)"
    assert rows[("teacher", "eager")]["x teacher"] == "1.00x"
    assert rows[("time-xh-xs", "eager")]["sentences/s (95% CI)"] == "300.0 [270.0, 330.0]"
    md = render_markdown(records)
    assert md.count("\n") == len(records) + 1 and md.startswith("| model | kind | runtime |")
