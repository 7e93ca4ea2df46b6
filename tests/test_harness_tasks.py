"""The lm-eval tasks generated from the registry load in lm-eval's TaskManager with the local data, and
``zoo lm-eval`` scores a tiny masked LM offline and stores a record of protocol "lm-eval zero-shot"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli.main import main
from zoo.harness.tasks import harness_tasks, write_tasks
from zoo.registry import get_language

REPO = Path(__file__).resolve().parent.parent
# (language, lm-eval task, scored file) of every sentence-level task with local data
EXPECTED = [
    ("xh", "zoo_afrixnli_xh", "xh/nli/test.jsonl"),
    ("xh", "zoo_masakhanews_xh", "xh/news/test.tsv"),
    ("fr", "zoo_xnli_fr", "fr/nli/test.jsonl"),
    ("de", "zoo_xnli_de", "de/nli/test.jsonl"),
    ("ur", "zoo_xnli_ur", "ur/nli/test.jsonl"),
    ("hu", "zoo_hurte_hu", "hu/rte/dev.jsonl"),
]


def test_generated_tasks_load_in_lm_eval_with_the_local_data(data_root, tmp_path):
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    from zoo.data.readers import read_news

    for lang in sorted({lang for lang, _, _ in EXPECTED}):
        write_tasks(harness_tasks(get_language(lang)), tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.yaml")) == sorted(name for _, name, _ in EXPECTED)
    loaded = TaskManager(include_path=str(tmp_path), include_defaults=False).load(
        [name for _, name, _ in EXPECTED])["tasks"]
    for _, name, rel in EXPECTED:
        path = data_root / rel
        rows = read_news(path) if rel.endswith(".tsv") else path.read_text(encoding="utf-8").splitlines()
        assert len(list(loaded[name].test_docs())) == len(rows), name
    # lm-eval's afrixnli_native_direct_xho format, written out by hand for the first test pair
    doc = next(iter(loaded["zoo_afrixnli_xh"].test_docs()))
    first = json.loads((data_root / "xh/nli/test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    p, h = first["premise"], first["hypothesis"]
    assert loaded["zoo_afrixnli_xh"].doc_to_choice(doc) == [
        f"{p}, Ichanekile? Ewe, {h}", f"{p}, Ichanekile? Kananjalo, {h}", f"{p}, Ichanekile? Hayi, {h}"]
    assert loaded["zoo_afrixnli_xh"].doc_to_target(doc) == first["label"]
    news = loaded["zoo_masakhanews_xh"]
    doc = next(iter(news.test_docs()))
    assert news.doc_to_choice(doc) == ["business", "entertainment", "health", "politics", "sports"]
    assert news.doc_to_text(doc).startswith("Given the categories business, entertainment, health, politics, "
                                            "or sports; what category does the text: '")


def test_a_language_without_sentence_tasks_is_one_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["lm-eval", "--lang", "af", "--tasks-only"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "af has no sentence-level task with local data" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.ci  # ~40 s on 2 quiet cores (imports, a 250k-piece tokenizer, 1,146 masked copies): CI runs it
def test_zoo_lm_eval_scores_a_tiny_mlm_offline_and_stores_a_record(data_root, tmp_path):
    pytest.importorskip("lm_eval")
    from harness_fixtures import build_tiny_mlm

    from zoo.results import PROTOCOL_LABELS, load_records, record_protocol

    build_tiny_mlm(tmp_path / "tiny-mlm")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "ZOO_WORK_DIR": str(tmp_path / "work"), "ZOO_DATA_DIR": str(data_root),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "zoo.cli", "lm-eval", "--lang", "xh", "--model", str(tmp_path / "tiny-mlm"),
           "--tasks", "afrixnli", "--limit", "8", "--device", "cpu"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = load_records("xh", kind="eval", root=tmp_path / "work" / "results")
    assert len(records) == 1
    rec = records[0]
    assert rec["task"]["name"] == "afrixnli" and rec["task"]["preset"] == "lm-eval-zero-shot+limit=8"
    assert record_protocol(rec) == "lm-eval zero-shot" and record_protocol(rec) in PROTOCOL_LABELS
    assert 0.0 <= rec["scores"]["accuracy"] <= 100.0
    d = rec["details"]
    assert (d["lm_eval_task"], d["num_fewshot"], d["limit"], d["n_examples"]) == ("zoo_afrixnli_xh", 0, 8, 8)
    assert d["lm_model"] == "time-mlm" and d["lm_eval_version"].startswith("0.4.")
    assert d["prompt"]["source"] == "lm-eval afrixnli_native_direct_xho"
    assert (tmp_path / "work/lm-eval/tasks/xh/zoo_afrixnli_xh.yaml").is_file()
