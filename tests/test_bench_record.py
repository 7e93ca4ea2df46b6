"""The typed bench record: its schema file is current, records of the old dict writer still read and keep
their keys, a failed runtime keeps ``scores == {}``, and the store loader types every bench record.
(A real ``zoo bench`` run's records round-trip in tests/test_bench_cli.py.)"""

from __future__ import annotations

import json

import pytest

from zoo.bench.record import BenchRecord, find_bench_record, load_bench_records
from zoo.errors import ZooError
from zoo.results import ModelInfo, RecordKey, make_record, save_record

INFO = ModelInfo(id="time-xh-xs", revision="r1", role="student", size="xs")


def test_schema_file_is_current():
    assert BenchRecord.schema_file().read_text(encoding="utf-8") == BenchRecord.schema_text()


def test_old_records_read_and_keep_their_keys(tmp_path):
    # as the dict writer made them: no setting in the task, no variant for eager, few details, no params
    old = make_record(
        "bench",
        "xh",
        INFO,
        {"name": "speed", "version": 1, "seq_len": 128},
        {"sentences_per_s": 400.0, "sentences_per_s_ci95": [380.0, 420.0], "peak_memory_mb": 12.0},
        variant=None,
        details={"energy_method": "rapl", "threads": 2, "agreement": {"ok": True, "max_abs_diff": 0.01}},
    )
    path = save_record(old, root=tmp_path)
    eval_rec = make_record("eval", "xh", INFO, {"name": "masakhaner", "version": 1}, {"f1": 50.0}, seed=0)
    save_record(eval_rec, root=tmp_path)  # other kinds are not bench records: skipped

    [rec] = load_bench_records("xh", root=tmp_path)
    assert rec.to_json() == json.loads(path.read_text(encoding="utf-8"))
    assert rec.runtime == "eager" and rec.measured and rec.details.agreement.ok
    assert rec.model.params == {}  # {} stays {}
    assert rec.to_json()["model"]["params"] == {}
    found = find_bench_record(RecordKey("bench", "xh", INFO.id, INFO.revision, "speed", 1), root=tmp_path)
    assert found == rec and found.path(tmp_path) == path


def test_a_failed_runtime_keeps_empty_scores():
    details = {"status": "failed", "reason": "outputs disagree", "runtime": "onnx-int8", "run_id": "r"}
    rec = BenchRecord.build("xh", INFO, {"name": "speed-L32-cpu-t1", "version": 1}, {}, "onnx-int8", details)
    data = rec.to_json()
    assert data["scores"] == {} and data["details"] == details and not rec.measured
    assert BenchRecord.from_json(json.loads(json.dumps(data))).to_json() == data


def test_a_mistyped_field_fails_at_write_time_and_a_bad_file_is_named(tmp_path):
    task = {"name": "speed", "version": 1}
    with pytest.raises(ZooError, match="details.sweeps"):
        BenchRecord.build("xh", INFO, task, {}, "eager", {"sweeps": []})
    bad = make_record("bench", "xh", INFO, task, {"sentences_per_s": "fast"}, variant="eager")
    path = save_record(bad, root=tmp_path)
    with pytest.raises(ZooError, match=path.name):
        load_bench_records("xh", root=tmp_path)
