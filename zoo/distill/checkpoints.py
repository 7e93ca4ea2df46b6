"""A distillation run's directory: its checkpoints, and resuming from them after an interruption.

The run directory (``work_dir()/runs/distill/<student dir name>/``) holds the Trainer's ``checkpoint-N``
directories, ``run.json`` (the settings the checkpoints were made with), ``sessions.json``, the log history
and the student tokenizer. A rerun resumes from the last COMPLETE checkpoint, and only when its settings
match ``run.json``; ``--restart`` discards the checkpoints instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from zoo.errors import UsageError
from zoo.fileio import write_json_atomic
from zoo.paths import work_dir

RUN_FILE = "run.json"
SESSIONS_FILE = "sessions.json"
LOG_HISTORY_FILE = "log_history.json"


def run_dir_for(out_dir: Path) -> Path:
    """The run directory (checkpoints, logs) of a student directory."""
    return work_dir() / "runs" / "distill" / out_dir.name


def run_signature(**parts: Any) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the checkpoints (as JSON would store it)."""
    return json.loads(json.dumps(parts, sort_keys=True, default=str))


def last_checkpoint(run_dir: Path) -> Path | None:
    """The highest-numbered COMPLETE checkpoint (``trainer_state.json`` is the last file the Trainer writes,
    so a run killed while saving leaves a directory without it, which is skipped)."""
    done = [
        p
        for p in run_dir.glob("checkpoint-*")
        if (p / "trainer_state.json").is_file() and p.name[11:].isdigit()
    ]
    return max(done, key=lambda p: int(p.name[11:]), default=None)


def checkpoint_step(checkpoint: str | Path | None) -> int | None:
    """The step of ``.../checkpoint-N`` (None for no checkpoint)."""
    if not checkpoint:
        return None
    return int(Path(checkpoint).name.rsplit("-", 1)[-1])


def prepare_run_dir(run_dir: Path, signature: dict[str, Any], restart: bool) -> None:
    """Main process, before training: discard the run on ``restart``, drop incomplete checkpoints, refuse
    to resume checkpoints made with other settings, and record this run's settings."""
    if restart:
        _discard_run(run_dir)
    for p in run_dir.glob("checkpoint-*"):
        if p.is_dir() and not (p / "trainer_state.json").is_file():
            shutil.rmtree(p)
    _check_resume(run_dir, signature, last_checkpoint(run_dir) is not None)
    write_json_atomic(run_dir / RUN_FILE, signature)


def _discard_run(run_dir: Path) -> None:
    for ckpt in run_dir.glob("checkpoint-*"):
        shutil.rmtree(ckpt)
    for name in (SESSIONS_FILE, LOG_HISTORY_FILE):
        (run_dir / name).unlink(missing_ok=True)
    for f in run_dir.glob("rank*.jsonl"):
        f.unlink()


def _check_resume(run_dir: Path, signature: dict[str, Any], has_checkpoint: bool) -> None:
    path = run_dir / RUN_FILE
    if not has_checkpoint or not path.is_file():
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    diff = sorted(k for k in set(old) | set(signature) if old.get(k) != signature.get(k))
    if diff:
        raise UsageError(
            f"the checkpoints in {run_dir} come from a run with other settings ({', '.join(diff)})",
            hint="rerun with the same settings to resume, or pass --restart to discard them",
        )


def load_checkpoint_weights(model, checkpoint: Path) -> None:
    """Load a Trainer checkpoint's weights (single or sharded safetensors) into ``model``."""
    from safetensors.torch import load_file
    from transformers.trainer_utils import load_sharded_checkpoint

    single = checkpoint / "model.safetensors"
    if single.is_file():
        model.load_state_dict(load_file(str(single)), strict=True)
    else:
        load_sharded_checkpoint(model, str(checkpoint), strict=True)


def restore_finished_run(trainer, last: Path, run_dir: Path) -> None:
    """A run that already reached max_steps (e.g. a rerun with --force): the Trainer would train one more
    step when resumed there, so take its final state and best weights from the checkpoints instead."""
    from transformers import TrainerState

    trainer.state = TrainerState.load_from_json(str(last / "trainer_state.json"))
    best = run_dir / Path(trainer.state.best_model_checkpoint or last).name
    load_checkpoint_weights(trainer.model, best)
