"""The results table: mean ± CI over seeds, retention, presets kept apart, newest revision shown."""

from __future__ import annotations

import pytest

from zoo.registry import get_language
from zoo.results import ModelInfo, make_record
from zoo.results.tables import render_table, summarize


def _rec(model_id, role, size, score, seed, preset="default", revision="r1", task="masakhaner", date=None):
    rec = make_record(
        "eval",
        "xh",
        ModelInfo(id=model_id, revision=revision, role=role, size=size),
        {"name": task, "family": "ner", "version": 1, "split": "test", "main_metric": "f1", "preset": preset},
        {"f1": score, "precision": score, "recall": score},
        seed=seed,
    )
    if date:
        rec["date"] = date
    return rec


@pytest.fixture()
def records():
    recs = []
    for seed, (s, r, t) in enumerate([(60, 40, 80), (62, 41, 80), (64, 42, 80)]):
        recs += [
            _rec("time-xh-xs", "student", "xs", s, seed),
            _rec("random-xh-xs", "random-baseline", "xs", r, seed),
            _rec("teacher-x", "teacher", None, t, seed),
        ]
    # another preset: never averaged in
    recs.append(_rec("time-xh-xs", "student", "xs", 10.0, 0, preset="smoke"))
    recs.append(_rec("time-xh-xs", "student", "xs", 0.0, 0, revision="old", date="2000-01-01T00:00:00+00:00"))
    return recs


def test_mean_ci_and_retention(records):
    rows = summarize(records, get_language("xh"))
    assert [(r["task"], r["preset"]) for r in rows] == [("masakhaner", "default"), ("masakhaner", "smoke")]
    default = {m["id"]: m for m in rows[0]["models"]}
    assert [m["id"] for m in rows[0]["models"]] == ["time-xh-xs", "random-xh-xs", "teacher-x"]
    xs = default["time-xh-xs"]
    assert xs["values"] == [60.0, 62.0, 64.0] and xs["revision"] == "r1"  # the old revision is not mixed in
    assert xs["mean"] == pytest.approx(62.0)
    assert xs["ci95"] == pytest.approx(4.303 * 2.0 / 3 ** 0.5, rel=1e-4)  # t(0.975, 2 df) = 4.303 (tables)
    assert default["random-xh-xs"]["mean"] == pytest.approx(41.0)
    assert rows[0]["retention"] == {
        "time-xh-xs": {"teacher": "teacher-x", "ratio": pytest.approx(0.775), "status": "ok"}
    }
    smoke = rows[1]["models"]
    assert len(smoke) == 1 and smoke[0]["values"] == [10.0] and smoke[0]["ci95"] is None
    assert rows[1]["retention"] == {}  # no teacher under the smoke preset


def test_preset_filter_and_rendering(records):
    from rich.console import Console

    rows = summarize(records, preset="default")
    assert len(rows) == 1
    console = Console(width=200, record=True)
    console.print(render_table(rows))
    text = console.export_text()
    assert "62.0 ± 5.0" in text and "77.5 %" in text and "random init" in text and "teacher" in text


def test_retention_is_na_where_the_teacher_is_not_above_the_constant_baseline():
    """AfriXNLI-like: the teacher (33.0, 34.0, 35.0: mean 34.0 ± 2.5) is not above a constant baseline of
    33.3 by more than its interval, so the ratio 36/34 would only say that two guesses are close."""
    recs = []
    for seed, (s, t) in enumerate([(36.0, 33.0), (36.0, 34.0), (36.0, 35.0)]):
        recs += [
            _rec("time-xh-xs", "student", "xs", s, seed, task="afrixnli"),
            _rec("teacher-x", "teacher", None, t, seed, task="afrixnli"),
        ]
    recs.append(_rec("constant", "constant-baseline", None, 33.3, 0, task="afrixnli"))
    row = summarize(recs, get_language("xh"))[0]
    assert row["retention"]["time-xh-xs"] == {
        "teacher": "teacher-x",
        "ratio": None,
        "status": "teacher at chance",
    }
    # a teacher clearly above the floor gets its ratio
    recs[-1] = _rec("constant", "constant-baseline", None, 20.0, 0, task="afrixnli")
    ret = summarize(recs, get_language("xh"))[0]["retention"]["time-xh-xs"]
    assert ret["ratio"] == pytest.approx(36 / 34)


def _ud(model_id, role, seed, upos, las):
    return make_record(
        "eval",
        "af",
        ModelInfo(id=model_id, revision="r1", role=role, size="xs" if role == "student" else None),
        {"name": "afribooms", "family": "ud", "version": 1, "split": "test", "main_metric": "LAS",
         "preset": "standard"},
        {"UPOS": upos, "LAS": las, "UAS": las + 3},
        seed=seed,
    )


def test_metric_rows_each_with_their_own_retention(tmp_path, monkeypatch):
    """``--metric UPOS --metric LAS``: a UD task gets a row per metric, retention on that metric; a task
    without them keeps its main metric; the CLI refuses an unknown metric with a did-you-mean."""
    import os
    import subprocess
    import sys

    from zoo.results import save_record

    recs = []
    for seed, (su, sl, tu, tl) in enumerate([(96.0, 80.0, 98.0, 86.0), (96.5, 81.0, 98.0, 87.0),
                                              (97.0, 82.0, 98.0, 88.0)]):
        recs += [_ud("time-af-xs", "student", seed, su, sl), _ud("teacher-x", "teacher", seed, tu, tl)]
    recs.append(_ud("constant", "constant-baseline", 0, 85.0, 20.0))
    recs.append(_rec("time-xh-xs", "student", "xs", 60.0, 0, task="masakhaner"))
    rows = summarize(recs, get_language("af"), metrics=["UPOS", "LAS"])
    by = {(r["task"], r["metric"]): r for r in rows}
    assert set(by) == {("afribooms", "UPOS"), ("afribooms", "LAS"), ("masakhaner", "f1")}
    assert by[("afribooms", "UPOS")]["retention"]["time-af-xs"]["ratio"] == pytest.approx(96.5 / 98.0)
    assert by[("afribooms", "LAS")]["retention"]["time-af-xs"]["ratio"] == pytest.approx(81.0 / 87.0)
    constant = {m["id"]: m for m in by[("afribooms", "UPOS")]["models"]}["constant"]
    assert constant["mean"] == 85.0
    # no --metric: the main metric only
    assert [(r["task"], r["metric"]) for r in summarize(recs, get_language("af"))] == [
        ("afribooms", "LAS"), ("masakhaner", "f1")]

    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path))
    for rec in recs[:-1]:
        save_record(rec)
    env = {**os.environ, "ZOO_WORK_DIR": str(tmp_path), "COLUMNS": "300"}
    ok = subprocess.run([sys.executable, "-m", "zoo.cli", "results", "--lang", "af", "--metric", "UPOS"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "afribooms (UPOS)" in ok.stdout and "98.5 %" in ok.stdout  # 96.5 / 98.0
    bad = subprocess.run([sys.executable, "-m", "zoo.cli", "results", "--lang", "af", "--metric", "UPSO"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "did you mean 'UPOS'" in bad.stderr and "Traceback" not in bad.stderr
