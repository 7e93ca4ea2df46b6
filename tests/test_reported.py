"""Reported rows: published scores from the language files, shown by `zoo results` apart from ours."""

from __future__ import annotations

import json

import pytest

from zoo.registry import get_language
from zoo.results import ModelInfo, make_record, save_record
from zoo.results.reported import format_scores, group_reported, reported_for_language, reported_rows

XH_SOURCE = "test_result_africaner_xho.txt"  # in the citation of the xh masakhaner rows
AF_SOURCE = "afrikaans-afribooms-ud-2.15-241121"  # in the citation of the af afribooms rows


def _zoo(args, capsys, monkeypatch) -> str:
    from zoo.cli import main

    monkeypatch.setenv("COLUMNS", "400")  # rich: one line per table row, so substrings stay whole
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    return capsys.readouterr().out


def test_rows_follow_the_language_file():
    rows = reported_rows(get_language("af"))
    metrics = [r["metric"] for r in rows]
    assert metrics == ["LAS", "UAS", "UPOS", "XPOS", "UFeats", "AllTags", "Lemmas", "MLAS", "BLEX"]
    assert {r["task"] for r in rows} == {"afribooms"} and all(AF_SOURCE in r["citation"] for r in rows)
    assert set(rows[0]) == {"task", "model", "metric", "score", "citation", "url", "protocol", "note"}
    assert reported_for_language("da") == []  # a language without published rows
    assert reported_for_language("zz") == []  # unknown to the registry: nothing, not an error


def test_grouping_by_source_task_and_model():
    base = {"task": "t", "model": "m", "citation": "c", "url": "https://x", "protocol": "p", "note": None}
    rows = [{**base, "metric": "LAS", "score": 80.5}, {**base, "model": "m2", "metric": "LAS", "score": 70.0},
            {**base, "metric": "UAS", "score": 85.25}]
    groups = group_reported(rows)
    assert [(g["model"], [s["metric"] for s in g["scores"]]) for g in groups] == [("m", ["LAS", "UAS"]),
                                                                                 ("m2", ["LAS"])]
    assert format_scores(groups[0]["scores"]) == "LAS 80.5 · UAS 85.25"
    assert format_scores([{"metric": "LAS", "score": 78.30}]) == "LAS 78.3"


def test_results_shows_reported_rows_without_measured_ones(capsys, monkeypatch):
    out = _zoo(["results", "--lang", "xh"], capsys, monkeypatch)
    assert "no evaluation results for xh" in out  # nothing measured yet ...
    assert "reported in the literature, not measured here" in out  # ... the published rows still show
    assert "f1 90.02" in out and "masakhane/afroxlmr-large-ner-masakhaner-1.0_2.0 (AfroXLMR-large)" in out
    assert XH_SOURCE in out and "4472fb6579c9a326ff3976c36903c593f48720aa" in out  # citation and its url
    assert "mean ± 95% CI" not in out  # no measured table was made up from them


def test_results_keeps_reported_rows_below_and_apart(capsys, monkeypatch):
    # TEST FIXTURE: one stored eval record with a made-up score (not a measurement)
    task = {"name": "masakhaner", "family": "ner", "version": 1, "split": "test", "main_metric": "f1",
            "preset": "standard"}
    student = ModelInfo(id="time-xh-xs", revision="r1", role="student", size="xs")
    scores = {"f1": 61.3, "precision": 60.0, "recall": 62.5}
    save_record(make_record("eval", "xh", student, task, scores, seed=0))
    out = _zoo(["results", "--lang", "xh"], capsys, monkeypatch)
    measured, _, reported = out.partition("reported in the literature, not measured here")
    assert "61.3 (1 seed)" in measured and "time-xh-xs" in measured  # the measured table comes first
    assert "90.02" not in measured and "AfroXLMR" not in measured  # the reported score is not a column there
    assert "f1 90.02" in reported and XH_SOURCE in reported and "61.3" not in reported

    data = json.loads(_zoo(["results", "--lang", "xh", "--json"], capsys, monkeypatch))
    assert [m["id"] for m in data["rows"][0]["models"]] == ["time-xh-xs"]
    assert [(r["task"], r["metric"], r["score"]) for r in data["reported"]] == [
        ("masakhaner", "f1", 90.02), ("masakhaner", "precision", 86.69), ("masakhaner", "recall", 93.61)]
