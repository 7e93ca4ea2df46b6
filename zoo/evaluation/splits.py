"""The rows a preset gives one run: a task's train / select / score splits, capped to fixed random subsets.

A preset may cap a split (``max_train_examples``, ``max_select_examples``, ``max_eval_examples``): the run
then sees a fixed random subset (seed 0: the same rows for every model and seed), in file order. The same
rule serves ``datasets.Dataset`` splits (:func:`cap`) and UD sentence lists (:func:`cap_sentences`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.data.conllu import Sentence
    from zoo.evaluation.presets import EvalPreset
    from zoo.registry import TaskSpec


def role_cap(preset: EvalPreset, role: str) -> int | None:
    """The preset's cap on the split playing ``role`` (None: the whole split)."""
    if role == "train":
        return preset.max_train_examples
    if role == "select":
        return preset.max_select_examples or preset.max_eval_examples
    return preset.max_eval_examples


def subset(n_rows: int, n: int | None, seed: int = 0) -> list[int] | None:
    """Indices (sorted) of at most ``n`` of ``n_rows`` rows, a fixed random subset; None when all fit."""
    if n is None or n_rows <= n:
        return None
    import numpy as np

    keep = np.random.default_rng(seed).permutation(n_rows)[:n]
    return sorted(int(i) for i in keep)


def cap(dataset, n: int | None, seed: int = 0):
    """At most ``n`` rows of a ``datasets.Dataset``: :func:`subset`, in original order."""
    keep = subset(len(dataset), n, seed)
    return dataset if keep is None else dataset.select(keep)


def cap_sentences(sentences: list[Sentence], n: int | None) -> list[Sentence]:
    """At most ``n`` sentences: the same fixed random subset as :func:`cap`, in file order."""
    keep = subset(len(sentences), n)
    return sentences if keep is None else [sentences[i] for i in keep]


@dataclass
class TaskSplits:
    """The three splits of one run, capped by the preset, and the task's label list."""

    full_train: Any
    train: Any
    select: Any
    score: Any
    labels: list[str]

    def sizes(self) -> dict[str, int]:
        """Rows per split (``train_available``: before the cap), for the record's details."""
        return {
            "train": len(self.train),
            "select": len(self.select),
            "score": len(self.score),
            "train_available": len(self.full_train),
        }


def load_task_splits(task: TaskSpec, preset: EvalPreset) -> TaskSplits:
    """Train / select / score of ``task`` with the preset's caps (the same rows for every model and seed)."""
    from zoo.data.tasks import load_split, task_labels

    full_train = load_split(task, "train")
    return TaskSplits(
        full_train=full_train,
        train=cap(full_train, role_cap(preset, "train")),
        select=cap(load_split(task, "select"), role_cap(preset, "select")),
        score=cap(load_split(task, "score"), role_cap(preset, "score")),
        labels=task_labels(task, full_train),
    )


def load_ud_split(task: TaskSpec, role: str, preset: EvalPreset) -> tuple[list[Sentence], list[Sentence]]:
    """The sentences playing ``role`` in a UD task: ``(whole split, capped by the preset)``."""
    from zoo.data.ud import read_ud_split

    full = read_ud_split(task, role)
    return full, cap_sentences(full, role_cap(preset, role))
