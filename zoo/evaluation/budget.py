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
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01

    def override(self, **changes) -> EvalBudget:
        """A copy with some fields changed (CLI ``--set key=value``)."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise UsageError(f"unknown budget field '{key}'", hint=", ".join(sorted(names)))
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, EvalBudget] = {
    # seconds per task: for tests and CI; scores from it are not comparable and are labelled "smoke"
    "smoke": EvalBudget("smoke", max_epochs=1, patience=1, batch_size=16, learning_rate=5e-4, max_length=64,
                        max_train_examples=64, max_eval_examples=64),
}


def get_budget(name: str) -> EvalBudget:
    """A preset by name, with the list of presets when unknown."""
    if name not in PRESETS:
        raise UsageError(f"unknown eval preset '{name}'", hint=f"presets: {', '.join(PRESETS)}")
    return PRESETS[name]
