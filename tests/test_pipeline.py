"""``zoo run`` end to end (smoke preset, one task): skipping what is done, and kill -9 during distillation,
evaluation and publishing. CI runs these (``slow`` + ``ci``): 263 s on 2 cores (AMD EPYC, session 9)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

RUN = ["run", "--lang", "xh", "--preset", "smoke", "--tasks", "afrixnli"]
pytestmark = [pytest.mark.slow, pytest.mark.ci]


def _env(work: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "ZOO_WORK_DIR": str(work)}


def _zoo(work: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *RUN], env=_env(work), capture_output=True, text=True,
        timeout=timeout,
    )


def _outputs(work: Path) -> dict[str, object]:
    """What a finished run leaves: the result keys, the published refs and files, the leaderboard rows."""
    # A resumed distillation is not bit-identical to an uninterrupted one (the student's content revision,
    # part of each record's file name, differs); everything else must be the same.
    records = sorted(
        re.sub(r"_r(sha256--)?[0-9a-f]{12,64}", "_r<rev>", str(p.relative_to(work / "results")))
        for p in (work / "results").rglob("*.json")
    )
    refs = sorted(p.parent.parent.name for p in (work / "hub-cache").glob("models--*/refs/main"))
    snapshots = work / "hub-cache" / "models--time--time-xh" / "snapshots"
    published = sorted(p.name for p in snapshots.glob("*/*"))
    board = json.loads((work / "leaderboard" / "leaderboard.json").read_text())
    return {
        "records": records,
        "refs": refs,
        "published": published,
        "rows": sorted(r["id"] for r in board["rows"]),
        "card": (work / "students" / "time-xh-xs" / "README.md").is_file(),
    }


def _kill_when(work: Path, ready: Callable[[], bool], poll_s: float = 0.2) -> None:
    """Start ``zoo run``, SIGKILL it as soon as ``ready()`` holds (it must hold before the run ends)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", *RUN], env=_env(work), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 1500
    while not ready():
        assert proc.poll() is None, "the run ended before the kill point"
        assert time.monotonic() < deadline
        time.sleep(poll_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_root) -> tuple[Path, dict[str, object]]:
    """An uninterrupted smoke run and its outputs."""
    work = tmp_path_factory.mktemp("clean")
    first = _zoo(work)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = _outputs(work)
    assert expected["card"] and expected["refs"] == ["models--time--time-xh", "models--time--time-xh-xs"]
    assert {"config.json", "model.safetensors", "README.md"} <= set(expected["published"])
    # the card reads the distillation.json that `zoo distill` wrote (not a hand-made fixture's layout)
    record = json.loads((work / "students" / "time-xh-xs" / "distillation.json").read_text())
    distilled = record["training"]
    card = (work / "students" / "time-xh-xs" / "README.md").read_text(encoding="utf-8")
    # the corpus's words, counted here from the files themselves (whitespace-separated, every line)
    files = [data_root / f["path"] for f in record["corpus"]["files"]]
    words = sum(len(f.read_text(encoding="utf-8").split()) for f in files)
    assert f"file(s), {words:,} words;" in card
    assert f"- **Training**: {distilled['steps']} steps" in card
    assert f"best step {distilled['best_step']}, held-out loss" in card
    assert f"{distilled['heldout_loss_at_step_0']:.4f} at step 0" in card
    vocab = record["vocab"]  # the vocabulary line has the numbers zoo distill wrote (once "not recorded")
    [line] = [x for x in card.splitlines() if x.startswith("- Vocabulary:")]
    assert f"{vocab['teacher_pieces']:,}" in line and f"{vocab['kept_pieces']:,}" in line
    assert "not recorded" not in line
    return work, expected


def test_rerun_of_a_finished_run_skips_every_step(finished_run):
    work, expected = finished_run
    again = _zoo(work)
    assert again.returncode == 0
    for step in ("distill", "eval", "bench", "card", "publish"):
        assert f"{step}: skipped" in again.stderr
    assert _outputs(work) == expected
    manifest = json.loads((work / "runs" / "run-xh.json").read_text())
    assert len(manifest["earlier"]) == 1  # the first invocation is kept, with its timings
    first_steps = {s["name"]: s for s in manifest["earlier"][0]["steps"]}
    assert first_steps["eval"]["status"] == "done"
    assert manifest["work_s"]["eval"] >= first_steps["eval"]["wall_time_s"] > 0


def test_kill_9_during_distill_and_eval_then_rerun_equals_an_uninterrupted_run(tmp_path, finished_run):
    _, expected = finished_run
    work = tmp_path / "killed"
    _kill_when(work, lambda: any((work / "runs" / "distill").rglob("checkpoint-*/trainer_state.json")))
    manifest = json.loads((work / "runs" / "run-xh.json").read_text())
    assert manifest["steps"][-1] == {**manifest["steps"][-1], "name": "distill", "status": "running"}
    _kill_when(
        work, lambda: any((work / "results").rglob("*.json")) if (work / "results").is_dir() else False
    )
    assert not list((work / "results").rglob("*.tmp"))
    resumed = _zoo(work)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _outputs(work) == expected


def _kill_while_copying_the_weights(clean: Path, work: Path) -> bool:
    """Copy ``clean`` to ``work`` without its published state, rerun it and SIGKILL it while the weights blob
    is half copied into the Hub cache. True if the kill left the temp blob behind (it can arrive too late)."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(clean, work, symlinks=True)
    shutil.rmtree(work / "hub-cache")
    shutil.rmtree(work / "leaderboard")
    blobs = work / "hub-cache" / "models--time--time-xh" / "blobs"
    student = work / "students" / "time-xh-xs"
    weights = (student / "model.safetensors").stat().st_size
    others = max(p.stat().st_size for p in student.iterdir() if p.is_file() and p.name != "model.safetensors")
    assert others < weights // 2

    def half_copied() -> bool:
        # a temp blob larger than every other file is the weights'; kill before half so it lands mid-copy
        try:
            return any(
                e.name.endswith(".incomplete") and others < e.stat().st_size <= weights // 2
                for e in os.scandir(blobs)
            )
        except FileNotFoundError:  # not created yet, or renamed between scandir and stat
            return False

    _kill_when(work, half_copied, poll_s=0.0005)
    if not any(p.name.endswith(".incomplete") for p in blobs.iterdir()):
        return False
    assert not (blobs.parent / "refs" / "main").exists()  # killed mid-copy: nothing is published yet
    return True


def test_kill_9_during_publish_then_rerun_equals_an_uninterrupted_run(tmp_path, finished_run):
    clean, expected = finished_run
    work = tmp_path / "killed"
    # killed in the middle of copying a file, a temp blob is left behind; retry if the kill came too late
    assert any(_kill_while_copying_the_weights(clean, work) for _ in range(5))

    resumed = _zoo(work)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _outputs(work) == expected
    assert not [p for p in (work / "hub-cache").rglob("*") if p.name.endswith((".incomplete", ".partial"))]
    # the published files are the clean run's, byte for byte, and load with transformers alone
    snap = next((work / "hub-cache" / "models--time--time-xh" / "snapshots").iterdir())
    clean_snap = next((clean / "hub-cache" / "models--time--time-xh" / "snapshots").iterdir())
    for f in clean_snap.iterdir():
        assert (snap / f.name).read_bytes() == f.read_bytes(), f.name
    loaded = subprocess.run(
        [sys.executable, "-c", "from transformers import AutoModel; "
         "print(AutoModel.from_pretrained('time/time-xh').num_parameters())"],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(work / "hub-cache")},
        capture_output=True, text=True, timeout=300,
    )
    assert loaded.returncode == 0 and int(loaded.stdout.split()[-1]) > 1_000_000, loaded.stderr[-2000:]


def test_runtime_check_scores_the_students_pos_head_in_each_runtime(tmp_path, finished_run):
    """``zoo run --runtime-check``: the student's POS head is scored again through ONNX fp32 (the same scores
    as eager fp32); the baselines and the teacher are not checked; a task set without NER/POS says so."""
    clean, _ = finished_run
    work = tmp_path / "checked"
    shutil.copytree(clean, work, symlinks=True)
    cmd = [sys.executable, "-m", "zoo.cli", "run", "--lang", "xh", "--preset", "smoke", "--steps", "eval"]
    res = subprocess.run([*cmd, "--tasks", "masakhapos", "--runtime-check", "onnx-fp32"], env=_env(work),
                         capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    records = {}
    for p in (work / "results" / "xh").rglob("eval_masakhapos_*.json"):
        r = json.loads(p.read_text(encoding="utf-8"))
        records[r["model"]["id"]] = r
    assert {"time-xh-xs", "random-xh-xs", "constant"} <= set(records)
    check = records.pop("time-xh-xs")["details"]["runtime_check"]
    fp32 = check["runtimes"]["onnx-fp32"]
    assert fp32["scores"] == check["reference_scores"] and fp32["within"] and fp32["agreement"]["ok"]
    assert all(not r["details"].get("runtime_check") for r in records.values())
    again = subprocess.run([*cmd, "--tasks", "afrixnli", "--runtime-check", "onnx-fp32"], env=_env(work),
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert "runtime check: no ner or pos task for xh: nothing to check" in again.stderr
