"""The task-level runtime check (``zoo eval --runtime-check``): a fine-tuned POS head scored again through
ONNX fp32, ONNX int8 and eager bf16 on real isiXhosa data, the record's ``details.runtime_check``, its line
in ``zoo results``, and the runtime names the option takes. The model is a TEST FIXTURE (``tiny_encoder``: a
2-layer random BERT with the real XLM-R tokenizer), fine-tuned under the smoke preset."""

from __future__ import annotations

import pytest
from leaderboard_fixtures import sweep_bench_record

from zoo.cli import main
from zoo.errors import UsageError
from zoo.evaluation.runtime_check import TOLERANCE_POINTS, parse_check_runtimes, resolve_runtimes
from zoo.paths import work_dir
from zoo.results import load_records
from zoo.results.runtime_scores import runtime_check_text, summarize_runtime_checks


@pytest.fixture()
def env(monkeypatch, data_root, tmp_path):
    monkeypatch.setenv("ZOO_DATA_DIR", str(data_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def _zoo(*args: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    assert e.value.code == 0


def test_pos_head_scored_through_onnx_and_bf16(env, tiny_encoder, capsys):
    # fp32 training (bf16=off), so the record's own scores are eager fp32 ones too
    _zoo("eval", "--lang", "xh", "--model", str(tiny_encoder), "--tasks", "masakhapos", "--preset", "smoke",
         "--set", "bf16=off", "--seeds", "1", "--runtime-check", "onnx-fp32,onnx-int8,eager-bf16")
    [record] = load_records("xh", kind="eval")
    check = record["details"]["runtime_check"]
    assert list(check["runtimes"]) == ["onnx-fp32", "onnx-int8", "eager-bf16"]
    assert check["metric"] == "accuracy" and check["tolerance_points"] == TOLERANCE_POINTS == 0.5
    # the reference path (a copy of the fine-tuned encoder with its whole vocabulary back, the classifier
    # apart) predicts what the compacted torch model predicted for the record
    assert check["reference_scores"] == record["scores"]
    for name, entry in check["runtimes"].items():
        assert entry["status"] == "ok" and set(entry["scores"]) == set(record["scores"]), name
        diff = entry["scores"]["accuracy"] - check["reference_scores"]["accuracy"]
        assert entry["diff_points"] == pytest.approx(diff, abs=1e-6)
        assert entry["within"] == (abs(entry["diff_points"]) <= 0.5)
        assert entry["agreement"]["ok"] and entry["agreement"]["n_sentences"] == check["windows"]
    fp32 = check["runtimes"]["onnx-fp32"]
    assert fp32["scores"] == check["reference_scores"]  # the same weights in fp32: the same tags
    assert fp32["agreement"]["min_cosine"] >= 0.9999
    assert check["runtimes"]["onnx-int8"]["dtype"] == "int8"
    assert check["runtimes"]["eager-bf16"]["dtype"] == "bf16"
    assert not list(work_dir().rglob("*.onnx"))  # exports lived in the run's scratch directory

    capsys.readouterr()
    _zoo("results", "--lang", "xh")
    out = capsys.readouterr().out
    ref = check["reference_scores"]["accuracy"]
    assert f"masakhapos (smoke+bf16=off) · {tiny_encoder.name}: eager fp32: accuracy {ref:.1f}; onnx-fp32: " \
           f"accuracy {ref:.1f} (±0.0, within 0.5)" in out
    assert "onnx-int8: accuracy" in out and "eager-bf16: accuracy" in out

    # the record exists: a rerun asking for another runtime skips it, and says so
    _zoo("eval", "--lang", "xh", "--model", str(tiny_encoder), "--tasks", "masakhapos", "--preset", "smoke",
         "--set", "bf16=off", "--seeds", "1", "--runtime-check", "onnx-fused-int8")
    err = " ".join(capsys.readouterr().err.split())
    assert "runtime check: 1 run(s) were skipped (their records exist) without a check of every" in err
    assert load_records("xh", kind="eval") == [record]


def test_summary_text_over_seeds():
    def rec(ref: float, int8: float, within: bool) -> dict:
        entry = {"status": "ok", "device": "cpu", "dtype": "int8", "scores": {"f1": int8},
                 "diff_points": round(int8 - ref, 6), "within": within}
        gone = {"status": "unavailable", "device": "cpu", "dtype": "int8", "reason": "no fusion"}
        check = {"reference": "eager", "reference_scores": {"f1": ref}, "metric": "f1",
                 "tolerance_points": 0.5, "windows": 10,
                 "runtimes": {"onnx-int8": entry, "onnx-fused-int8": gone}}
        return {"details": {"runtime_check": check}}

    one = summarize_runtime_checks([rec(58.3, 57.9, True)])
    assert runtime_check_text(one) == (
        "eager fp32: f1 58.3; onnx-int8: f1 57.9 (−0.4, within 0.5); "
        "onnx-fused-int8: not available (no fusion)"
    )
    three = summarize_runtime_checks([rec(58.0, 57.8, True), rec(60.0, 59.0, False), rec(59.0, 59.3, True)])
    assert runtime_check_text(three).startswith(
        "eager fp32: f1 59.0; onnx-int8: f1 58.7 (−0.3, not within 0.5 in 1 of 3 seeds)"
    )
    assert runtime_check_text(three).endswith("(mean of 3 seeds)")
    assert summarize_runtime_checks([{"details": {}}]) is None


def test_runtime_names_and_auto(env):
    assert parse_check_runtimes("onnx-int8, eager,eager-bf16") == ["onnx-int8", "eager-bf16"]
    assert parse_check_runtimes("auto,onnx-fp32") == ["auto", "onnx-fp32"]
    with pytest.raises(UsageError, match="did you mean 'onnx-int8'"):
        parse_check_runtimes("onnx-int9")
    with pytest.raises(UsageError, match="compile cannot be checked"):
        parse_check_runtimes("compile")
    with pytest.raises(UsageError, match="no bench record of time-xh-xs") as e:
        resolve_runtimes(["auto"], "xh", "time-xh-xs", "r1")
    assert "zoo bench --lang xh --model time-xh-xs" in e.value.hint
    sweep_bench_record("eager", {1: 4.0, 32: 40.0}).save()
    sweep_bench_record("onnx-int8", {1: 2.0, 32: 30.0}).save()
    sweep_bench_record("eager-bf16", {1: 3.0, 32: 35.0}).save()
    # onnx-int8 is the fastest checked runtime at batch 1 and at 32: auto checks it (eager: the reference)
    assert resolve_runtimes(["auto", "eager-bf16"], "xh", "time-xh-xs", "r1") == ["onnx-int8", "eager-bf16"]
    assert resolve_runtimes(["onnx-fp32"], "xh", "nobody", "r0") == ["onnx-fp32"]


def test_classification_tasks_alone_are_refused_before_training(env, tiny_encoder):
    from zoo.evaluation.presets import get_preset
    from zoo.evaluation.runner import evaluate
    from zoo.models import resolve_models
    from zoo.registry import get_language

    spec = get_language("xh")
    models = resolve_models(spec, [str(tiny_encoder)])
    with pytest.raises(UsageError, match="NER and POS heads") as e:
        evaluate(spec, models, [spec.task("afrixnli")], [0], get_preset("smoke"), runtime_check=["onnx-int8"])
    assert "--tasks" in e.value.hint
    assert not load_records("xh")
