"""The language registry: the nine real languages load; bad files fail naming the file and field."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.errors import ConfigError, UsageError
from zoo.registry import LANGUAGES_DIR, get_language, languages, load_language_file

EXPECTED = {"xh", "af", "da", "de", "en", "fr", "ga", "hu", "ur"}


def test_nine_languages_with_their_tasks():
    specs = languages()
    assert set(specs) == EXPECTED
    assert set(specs["xh"].tasks) == {"masakhaner", "masakhapos", "sadilar_pos", "afrixnli", "masakhanews"}
    assert specs["ga"].tasks["idt"].family == "ud" and specs["ga"].tasks["idt"].main_metric == "LAS"
    afrixnli = specs["xh"].tasks["afrixnli"]
    assert afrixnli.splits == {"train": "dev[:80%]", "select": "dev[80%:]", "score": "test"}
    assert afrixnli.head == "pair-classification" and afrixnli.version == 1
    assert specs["xh"].teacher_online.id == "FacebookAI/xlm-roberta-large"
    assert specs["xh"].teacher_online.layer == 12 and specs["xh"].teacher_online.relation_heads == 64


def test_unknown_language_suggests_code():
    with pytest.raises(UsageError) as e:
        get_language("xhosa")
    assert "did you mean 'xh'" in str(e.value) and "af, da, de" in str(e.value)
    with pytest.raises(UsageError) as e:
        get_language("hungarian")
    assert "did you mean 'hu'" in str(e.value)


def test_unknown_task_and_size_suggest():
    xh = get_language("xh")
    with pytest.raises(UsageError, match="did you mean 'masakhaner'"):
        xh.task("masakaner")
    with pytest.raises(UsageError, match="sizes: xs, s, m"):
        xh.size("xl")


def _copy_xh(tmp_path: Path, edit) -> Path:
    path = tmp_path / "xh.yaml"
    shutil.copy(LANGUAGES_DIR / "xh.yaml", path)
    path.write_text(edit(path.read_text()))
    return path


def test_unknown_key_names_file_and_field(tmp_path):
    path = _copy_xh(tmp_path, lambda s: s.replace("script: Latn", "script: Latn\nscirpt: Latn"))
    with pytest.raises(ConfigError) as e:
        load_language_file(path)
    assert str(path) in str(e.value) and "unknown field 'scirpt'" in str(e.value)


def test_wrong_type_names_field(tmp_path):
    path = _copy_xh(
        tmp_path, lambda s: s.replace("layer: 12, relation_heads: 64", "layer: twelve, relation_heads: 64")
    )
    with pytest.raises(ConfigError, match=r"field 'teacher.online.layer' must be int, got str 'twelve'"):
        load_language_file(path)


def test_missing_field_and_bad_split(tmp_path):
    path = _copy_xh(tmp_path, lambda s: s.replace("name: isiXhosa\n", ""))
    with pytest.raises(ConfigError, match="missing required field 'name'"):
        load_language_file(path)
    path = _copy_xh(tmp_path, lambda s: s.replace('train: "dev[:80%]"', 'train: "dev[:eighty]"'))
    with pytest.raises(ConfigError, match=r"tasks.afrixnli.splits.train"):
        load_language_file(path)
    path = _copy_xh(tmp_path, lambda s: s.replace("include: ner", "include: nerr"))
    with pytest.raises(ConfigError, match="did you mean 'ner'"):
        load_language_file(path)


def test_cli_languages_and_did_you_mean(data_root):
    out = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "languages", "--json"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    import json

    rows = {r["code"]: r for r in json.loads(out.stdout)}
    assert set(rows) == EXPECTED
    assert rows["xh"]["corpus_words"] == 535927  # MANIFEST.md: 6 files, 535,927 words
    bad = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "info", "--lang", "xhosa"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "did you mean 'xh'" in bad.stderr and "Traceback" not in bad.stderr
    info = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "info", "--lang", "xh", "--json"], capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    d = json.loads(info.stdout)
    assert len(d["corpus_files_found"]) == 6
    assert all(f["found"] for t in d["task_files"].values() for f in t.values())


def test_reported_scores_load_typed():
    from dataclasses import FrozenInstanceError

    from zoo.registry import ReportedScore

    ner = get_language("xh").tasks["masakhaner"]
    scores = [(r.metric, r.score) for r in ner.reported]
    assert scores == [("f1", 90.02), ("precision", 86.69), ("recall", 93.61)]
    first = ner.reported[0]
    assert isinstance(first, ReportedScore) and first.url.startswith("https://huggingface.co/masakhane/")
    assert ner.reported[2].citation == first.citation  # YAML merge keys (<<: *anchor) share the source
    with pytest.raises(FrozenInstanceError):
        first.score = 99.0
    las = get_language("af").tasks["afribooms"].reported[0]
    assert (las.metric, las.score) == ("LAS", 87.67) and "gold tokenisation" in las.protocol
    assert get_language("xh").tasks["afrixnli"].reported == ()  # optional: no list, no rows


_ITEM = "metric: f1\n        score: 90.02"  # the first reported item of xh masakhaner
_URL = "url: https://huggingface.co/masakhane/"
_WHERE = r"tasks\.masakhaner\.reported\[0\]"


@pytest.mark.parametrize(("old", "new", "message"), [
    (_ITEM, _ITEM + "\n        table: 4", "unknown field '" + _WHERE + r"\.table'"),
    (_ITEM, "metric: f1\n        score: ninety", "field '" + _WHERE + r"\.score' must be float, got str"),
    (_ITEM, "metric: LAS\n        score: 90.02", _WHERE + r"\.metric' = 'LAS' is not a metric of the task"),
    (_ITEM, "metric: f1\n        score: 900.2", _WHERE + r"\.score' = 900\.2 is not a percentage"),
    (_URL, "url: huggingface.co/masakhane/", _WHERE + r"\.url' must be an http\(s\) address"),
])
def test_bad_reported_entry_names_file_and_field(tmp_path, old, new, message):
    def edit(text):
        assert text.count(old) == 1
        return text.replace(old, new)

    path = _copy_xh(tmp_path, edit)
    with pytest.raises(ConfigError, match=message) as e:
        load_language_file(path)
    assert str(path) in str(e.value)


def test_reported_must_be_a_list_of_mappings(tmp_path):
    path = _copy_xh(tmp_path, lambda s: s.replace("    license: AFL-3.0\n",
                                                  "    license: AFL-3.0\n    reported: {model: x}\n"))
    with pytest.raises(ConfigError, match=r"field 'tasks\.masakhanews\.reported' must be list, got dict"):
        load_language_file(path)
    path = _copy_xh(tmp_path, lambda s: s.replace("    license: AFL-3.0\n",
                                                  "    license: AFL-3.0\n    reported: [UDPipe, 90]\n"))
    with pytest.raises(ConfigError, match=r"tasks\.masakhanews\.reported\[0\] must be a mapping"):
        load_language_file(path)
