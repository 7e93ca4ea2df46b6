"""``zoo run`` end to end (smoke preset, one task): skipping what is done, and kill -9 at any step."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUN = ["run", "--lang", "xh", "--preset", "smoke", "--tasks", "afrixnli"]


def _env(work: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "ZOO_WORK_DIR": str(work)}


def _zoo(work: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *RUN],
        env=_env(work),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _outputs(work: Path) -> dict[str, object]:
    """What a finished run leaves: the result keys, the card's front matter keys, the published refs."""
    # A resumed distillation is not bit-identical to an uninterrupted one (the student's content revision,
    # part of each record's file name, differs); everything else must be the same.
    records = sorted(
        re.sub(r"_r[0-9a-f]{12}", "_r<rev>", str(p.relative_to(work / "results")))
        for p in (work / "results").rglob("*.json")
    )
    refs = sorted(p.parent.parent.name for p in (work / "hub-cache").glob("models--*/refs/main"))
    board = json.loads((work / "leaderboard" / "leaderboard.json").read_text())
    return {
        "records": records,
        "refs": refs,
        "rows": sorted(r["id"] for r in board["rows"]),
        "card": (work / "students" / "time-xh-xs" / "README.md").is_file(),
    }


def _kill_when(work: Path, ready) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", *RUN],
        env=_env(work),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 1500
    while not ready():
        assert proc.poll() is None, "the run ended before the kill point"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_9_during_distill_and_eval_then_rerun_equals_an_uninterrupted_run(tmp_path, data_root):
    clean = tmp_path / "clean"
    first = _zoo(clean)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = _outputs(clean)
    assert expected["card"] and expected["refs"] == ["models--time--time-xh", "models--time--time-xh-xs"]
    again = _zoo(clean)  # everything is done: every step is skipped, nothing changes
    assert again.returncode == 0 and "eval: skipped" in again.stderr and "distill: skipped" in again.stderr
    assert _outputs(clean) == expected

    work = tmp_path / "killed"
    _kill_when(work, lambda: any((work / "runs" / "distill").rglob("checkpoint-*/trainer_state.json")))
    _kill_when(
        work, lambda: any((work / "results").rglob("*.json")) if (work / "results").is_dir() else False
    )
    assert not list((work / "results").rglob("*.tmp"))
    resumed = _zoo(work)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _outputs(work) == expected
