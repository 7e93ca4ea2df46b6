"""Evaluation presets: how long heads train, on how much data.

Heads train with early stopping on the selection split (``patience`` epochs without improvement of
the task's main metric) up to ``max_epochs``; the chosen epoch is recorded with every score.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zoo.errors import UsageError


@dataclass(frozen=True)
class EvalBudget:
    """Fine-tuning budget of one (model, task, seed) run."""

    name: str
    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    max_length: int  # sub-word tokens per example (sentence tasks) or per sentence (word tasks)
    max_train_examples: int | None = None  # None = the whole train split
    max_eval_examples: int | None = None  # cap on select/score examples (smoke only)
    max_select_examples: int | None = None  # cap on the select split only (the score split stays whole)
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01

    def override(self, **changes) -> EvalBudget:
        """A copy with some fields changed (CLI ``--set key=value``)."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise UsageError(f"unknown budget field '{key}'", hint=", ".join(sorted(names)))
        return dataclasses.replace(self, **changes)


DEFAULT_PRESET = "default"

PRESETS: dict[str, EvalBudget] = {
    # seconds per task: for tests and CI; scores from it are not comparable and are labelled "smoke"
    "smoke": EvalBudget(
        "smoke",
        max_epochs=1,
        patience=1,
        batch_size=16,
        learning_rate=5e-4,
        max_length=64,
        max_train_examples=64,
        max_eval_examples=64,
    ),
    # CPU-sized (2 cores): every model trains on the same fixed random 300 train examples per task, selects
    # its epoch on 200 select examples and is scored on the WHOLE score split. Measured on xh, 1 seed, one
    # thread on a shared 2-core machine (CPU seconds): an untrained xs-shaped student (random weights,
    # xh-pruned vocabulary) used masakhaner 233 s (stopped at epoch 9), masakhapos 215 s (10, still
    # improving), sadilar_pos 368 s (10), afrixnli 87 s (4); the offline teacher on masakhapos 742 s
    # (82.5% accuracy, 10 epochs, still improving). Scores are learning-curve points at 300 examples:
    # comparable between models (same data, same recipe), not with published full-data results.
    "default": EvalBudget(
        "default",
        max_epochs=10,
        patience=3,
        batch_size=16,
        learning_rate=1e-4,
        max_length=128,
        max_train_examples=300,
        max_select_examples=200,
    ),
    # whole train splits, long patience: the recipe for GPUs (or a long CPU run); not timed on CPU
    "full": EvalBudget("full", max_epochs=40, patience=5, batch_size=32, learning_rate=1e-4, max_length=256),
}


def get_budget(name: str) -> EvalBudget:
    """A preset by name, with the list of presets when unknown."""
    if name not in PRESETS:
        raise UsageError(f"unknown eval preset '{name}'", hint=f"presets: {', '.join(PRESETS)}")
    return PRESETS[name]
