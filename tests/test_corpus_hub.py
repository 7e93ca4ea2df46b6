"""A language without local corpus files reads its ``corpus.hub`` datasets with ``datasets.load_dataset``.

The "Hub" here is a local folder laid out like the real ``wikimedia/wikipedia`` repository (one parquet
folder per config, declared in the README's YAML), holding real isiXhosa Wikipedia lines from the data
root; ``load_dataset`` reads it through the same code path as a downloaded repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.data.corpus import corpus_files, hub_corpus_file
from zoo.errors import DataError
from zoo.registry import HubDataset, get_language

REPO = Path(__file__).resolve().parent.parent
README = """---
configs:
- config_name: 20231101.xh
  data_files:
  - split: train
    path: 20231101.xh/train-*.parquet
---
"""


def _wiki_lines(data_root: Path, n: int = 40) -> list[str]:
    path = data_root / "xh" / "corpus" / "wikipedia_xh_kamper_cleaned.txt"
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:n]


def _hub_repo(tmp_path: Path, lines: list[str]) -> Path:
    """A folder shaped like the Hub's wikimedia/wikipedia: 3 articles of real text, one with a blank line."""
    from datasets import Dataset

    repo = tmp_path / "wikimedia-wikipedia"
    (repo / "20231101.xh").mkdir(parents=True)
    (repo / "README.md").write_text(README, encoding="utf-8")
    articles = ["\n".join(lines[:10]) + "\n\n", "\n".join(lines[10:25]), "\n".join(lines[25:])]
    Dataset.from_dict({"id": ["1", "2", "3"], "title": ["a", "b", "c"], "text": articles}).to_parquet(
        str(repo / "20231101.xh" / "train-00000-of-00001.parquet")
    )
    return repo


def _hub_only_languages(tmp_path: Path, repo: Path) -> Path:
    """A copy of the registry whose xh has no local corpus and the folder above as its Hub corpus."""
    d = tmp_path / "languages"
    shutil.copytree(REPO / "zoo" / "registry" / "languages", d)
    text = (d / "xh.yaml").read_text(encoding="utf-8")
    text = text.replace('local: ["xh/corpus/*.txt"]', 'local: ["xh/corpus/not-here-*.txt"]')
    text = text.replace("id: wikimedia/wikipedia,", f"id: '{repo}',")
    (d / "xh.yaml").write_text(text, encoding="utf-8")
    return d


@pytest.fixture()
def hub_only(tmp_path, data_root, monkeypatch):
    lines = _wiki_lines(data_root)
    repo = _hub_repo(tmp_path, lines)
    teacher_cache = os.environ.get("ZOO_CACHE_DIR")  # where the converted offline teacher is
    monkeypatch.setenv("ZOO_DATA_DIR", str(data_root))
    monkeypatch.setenv("ZOO_LANGUAGES_DIR", str(_hub_only_languages(tmp_path, repo)))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return repo, lines, teacher_cache


def test_local_files_win(data_root, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(data_root))
    files, source = corpus_files(get_language("xh"))
    assert source == "local" and [p.name for p in files][:1] == ["autshumato_evalset.txt"] and len(files) == 6


def test_hub_corpus_is_written_once_as_lines(hub_only):
    repo, lines, _ = hub_only
    files, source = corpus_files(get_language("xh"))
    assert source == "hub" and len(files) == 1
    assert files[0].read_text(encoding="utf-8").splitlines() == lines  # blank lines dropped, order kept
    stamp = files[0].stat().st_mtime_ns
    assert corpus_files(get_language("xh"))[0] == files and files[0].stat().st_mtime_ns == stamp


def test_a_missing_text_column_is_named(hub_only):
    repo, _, _ = hub_only
    with pytest.raises(DataError, match=r"no column 'body' \(columns: id, title, text\)"):
        hub_corpus_file(HubDataset(id=str(repo), config="20231101.xh", split="train", text_field="body"))


def test_distillation_reads_the_hub_corpus(hub_only, tmp_path):
    """``zoo distill`` (smoke) on a language whose corpus exists only on the "Hub"."""
    _, lines, teacher_cache = hub_only
    env = {k: v for k, v in os.environ.items() if k != "ZOO_CACHE_DIR"}
    if teacher_cache:
        env["ZOO_CACHE_DIR"] = teacher_cache
    out = tmp_path / "student"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.cli",
            "distill",
            "--lang",
            "xh",
            "--size",
            "xs",
            "--preset",
            "smoke",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    corpus = json.loads((out / "distillation.json").read_text())["corpus"]
    assert corpus["source"] == "hub" and corpus["hub"][0]["config"] == "20231101.xh"
    assert corpus["lines"] == len(lines)
