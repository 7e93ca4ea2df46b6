"""Typed records: every kind's JSON Schema file is current, and a record written by the real writer reads back
into its model unchanged (here the run manifest and a result record; distillation, bench and leaderboard
records round-trip in their own test files)."""

from __future__ import annotations

import json

import pytest

from zoo import pipeline
from zoo.errors import ZooError
from zoo.manifest import RunManifest
from zoo.paths import work_dir
from zoo.registry import get_language
from zoo.results import ModelInfo, ResultRecord, make_record, save_record
from zoo.schema import main as check_schemas
from zoo.schema import record_kinds


def test_every_schema_file_is_current():
    assert {k.SCHEMA_NAME for k in record_kinds()} == {
        "distillation", "result", "bench", "run-manifest", "leaderboard"}
    assert check_schemas([]) == 0


def test_run_manifest_round_trips(data_root):
    pipeline.run_language(get_language("xh"), pipeline.RunOptions(preset="smoke", steps=("teacher",)),
                          echo=lambda m: None)
    path = work_dir() / "runs" / "run-xh.json"
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    manifest = RunManifest.read(path)
    assert manifest.to_json() == on_disk
    assert [s.name for s in manifest.steps] == ["teacher"] and manifest.steps[0].status in ("done", "skipped")
    assert manifest.work_s["total"] == round(manifest.steps[0].wall_time_s, 1) == on_disk["work_s"]["teacher"]


def test_result_record_round_trips_and_rejects_unknown_fields(tmp_path):
    rec = make_record("eval", "xh", ModelInfo("time-xh-xs", "sha256:0123", "student", "xs"),
                      {"name": "masakhaner", "version": 1, "preset": "standard", "protocol": "standard"},
                      {"f1": 58.5}, seed=0, details={"converged": True})
    path = save_record(rec, root=tmp_path)
    assert ResultRecord.read(path).to_json() == json.loads(path.read_text(encoding="utf-8")) == rec
    with pytest.raises(ZooError, match=r"not a valid result record: model_typo"):
        ResultRecord.from_json({**rec, "model_typo": 1})
    with pytest.raises(ValueError, match="unknown model role"):
        ModelInfo("m", "r", "teacherr")


def test_records_that_called_the_preset_budget_still_read(tmp_path):
    task = {"name": "afrixnli", "version": 1}
    rec = make_record("eval", "xh", ModelInfo("m", "r"), {**task, "preset": "quick"}, {"accuracy": 40.0},
                      seed=0, details={"preset": "quick", "preset_fields": {"max_epochs": 8}})
    old = {**rec, "task": {**task, "budget": "quick"},
           "details": {"budget": "quick", "budget_fields": {"max_epochs": 8}}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    assert ResultRecord.read(path).to_json() == rec  # read under today's names
