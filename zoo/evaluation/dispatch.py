"""Where one (model, task, seed) run goes: its task family's function, the constant baseline or a peer.

By task family: ``ner``/``pos`` → :mod:`zoo.evaluation.tagging`, ``nli``/``rte``/``topic`` →
:mod:`zoo.evaluation.classification`, ``ud`` → :mod:`zoo.evaluation.ud.task` (imported lazily). Each family
function has the signature of :class:`~zoo.evaluation.types.TaskFunction`. The constant baseline (role
``constant-baseline``) goes to :mod:`zoo.evaluation.constant` instead, for every family. A peer pipeline
(role ``peer``, ``spacy:<package>``) is not fine-tuned: it goes to its library's function
(:data:`PEER_FUNCTIONS`), and a task its library cannot score stops the run before anything runs. Both are
deterministic, so they run with seed 0 only whatever the seeds asked, and without a learning-rate search.
Runtimes to check (:mod:`zoo.evaluation.runtime_check`) reach the families that support them
(:func:`checks_runtimes`); other runs ignore them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from zoo.errors import ConfigError, ZooError
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.types import TaskFunction, TaskRun
from zoo.models import ModelRef
from zoo.registry import TaskSpec

# family -> (module, function); modules are imported on first use
FAMILY_FUNCTIONS: dict[str, tuple[str, str]] = {
    "ner": ("zoo.evaluation.tagging", "run_tagging_task"),
    "pos": ("zoo.evaluation.tagging", "run_tagging_task"),
    "nli": ("zoo.evaluation.classification", "run_classification_task"),
    "rte": ("zoo.evaluation.classification", "run_classification_task"),
    "topic": ("zoo.evaluation.classification", "run_classification_task"),
    "ud": ("zoo.evaluation.ud.task", "run_ud_task"),
}
# peer library (ModelRef.extra["library"]) -> (module, function, task check)
PEER_FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "spacy": ("zoo.evaluation.spacy_peer", "run_spacy_task", "check_peer_task"),
}


def task_function(family: str) -> TaskFunction:
    """The ``run_<family>_task`` function of a task family."""
    if family not in FAMILY_FUNCTIONS:
        raise ConfigError(
            f"no evaluation for task family '{family}'", hint=f"families: {', '.join(FAMILY_FUNCTIONS)}"
        )
    module, name = FAMILY_FUNCTIONS[family]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise ZooError(
                f"evaluation of '{family}' tasks is not available yet ({module} is missing)",
                hint="pick other tasks with --tasks",
            ) from None
        raise
    return getattr(mod, name)


def peer_module(model: ModelRef):
    """The peer library's ``(run function, task check)`` of a peer pipeline."""
    library = model.extra.get("library")
    if library not in PEER_FUNCTIONS:
        raise ZooError(f"{model.id}: no evaluation for peer pipelines of '{library}'")
    module, run_name, check_name = PEER_FUNCTIONS[library]
    mod = importlib.import_module(module)
    return getattr(mod, run_name), getattr(mod, check_name)


def checks_runtimes(model: ModelRef, task: TaskSpec) -> bool:
    """Whether a run of ``model`` on ``task`` can take a runtime check (a fine-tuned NER or POS head)."""
    from zoo.evaluation.runtime_check import FAMILIES

    return model.role not in UNTRAINED_ROLES and task.family in FAMILIES


def run_task(
    model: ModelRef,
    task: TaskSpec,
    seed: int,
    preset: EvalPreset,
    out_dir: Path,
    runtimes: Sequence[str] = (),
) -> TaskRun:
    """One fine-tuning run of ``model`` on ``task``, dispatched by the task's family (the constant baseline:
    its rules; a peer pipeline: its library; neither is fine-tuned); ``runtimes`` to check where
    :func:`checks_runtimes`."""
    if model.role == "constant-baseline":
        from zoo.evaluation.constant import run_constant_task

        fn = run_constant_task
    elif model.role == "peer":
        fn = peer_module(model)[0]
    else:
        fn = task_function(task.family)
    extra = {"runtimes": tuple(runtimes)} if runtimes and checks_runtimes(model, task) else {}
    run = fn(model, task, seed, preset, out_dir, **extra)
    missing = [m for m in task.metrics if m not in run.scores]
    if missing:
        raise ZooError(f"{task.key}: the {task.family} run returned no score for {missing}")
    return run


UNTRAINED_ROLES = ("constant-baseline", "peer")  # nothing is fine-tuned: one run, no learning-rate search


def model_seeds(model: ModelRef, seeds: list[int]) -> list[int]:
    """The seeds ``model`` runs with: seed 0 alone for the (deterministic) constant baseline."""
    return [0] if model.role in UNTRAINED_ROLES else seeds
