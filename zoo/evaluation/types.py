"""The contract between the evaluation runner and the task families (tagging, classification, UD).

Every family exposes one function with the signature of :class:`TaskFunction`; it fine-tunes a head on
the task's ``train`` split, selects the epoch on ``select``, predicts ``score`` and returns a
:class:`TaskRun`. The runner turns that into a results record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from zoo.evaluation.presets import EvalPreset
    from zoo.models import ModelRef
    from zoo.registry import TaskSpec


@dataclass
class TaskRun:
    """The outcome of one (model, task, seed) run."""

    scores: dict[str, float]  # percent, keys = task.metrics
    # best_epoch, epochs_run, curve (selection curve: epoch -> main metric), split_sizes, preset, ...
    details: dict[str, Any] = field(default_factory=dict)
    predictions: Path | None = None  # predictions of the score split (TSV, CoNLL-U, ...), inside out_dir
    gold: Path | None = None  # the gold file the predictions were scored against, when it is a subset


class TaskFunction(Protocol):
    """``run_<family>_task(model, task, seed, preset, out_dir) -> TaskRun``; ``out_dir`` is scratch space. A
    family that supports the runtime check (:mod:`zoo.evaluation.runtime_check`) also takes ``runtimes=``."""

    def __call__(
        self, model: ModelRef, task: TaskSpec, seed: int, preset: EvalPreset, out_dir: Path
    ) -> TaskRun: ...
