"""Several fine-tuning runs at once (``zoo eval --jobs N``): each in a spawned worker process with the CPUs
split evenly among the workers. The learning-rate trials of seed 0 (:mod:`zoo.evaluation.lr_search`) run as
work items of their own before the seeds, so a search does not hold every other run back. Records and trials
are the same files as in one process. Workers send each finished epoch to the parent through a queue, and
the parent's listener shows it (a progress bar in a terminal, a log line otherwise), as in one process. When
fewer runs are left than workers, a worker still running takes the CPUs of those that ended, at its next epoch
(session 15: a MasakhaNER seed ran 15 minutes on one thread of two while the other core sat idle)."""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.evaluation import lr_search
from zoo.evaluation.dispatch import UNTRAINED_ROLES
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.progress import EvalListener
from zoo.models import ModelRef
from zoo.registry import LanguageSpec, TaskSpec

if TYPE_CHECKING:
    from zoo.evaluation.runner import ModelIdentity


@dataclass(frozen=True)
class RunItem:
    """One fine-tuning run of ``zoo eval``: a seed's record of (model, task), or, with ``trial_rate``, one
    learning-rate trial of seed 0's search (``index`` -1: not a record of the plan)."""

    index: int  # position in the evaluation's plan of (model, task, seed)
    label: str  # "model · task · seed N", as the progress lines print it
    spec: LanguageSpec
    model: ModelRef
    ident: ModelIdentity  # the model's revision and parameter counts, computed once
    task: TaskSpec
    seed: int
    preset: EvalPreset
    force: bool
    runtimes: tuple[str, ...] = ()  # runtimes to score the head through as well (runtime check)
    trial_rate: float | None = None
    jobs: dict[str, Any] | None = None  # how many runs went at once and why (JobsChoice.as_dict)


RunOne = Callable[[RunItem], tuple[Path, dict[str, Any]]]


def search_trials(items: list[RunItem]) -> list[RunItem]:
    """The learning-rate trials not yet stored of every (model, task) in ``items``, as items of their own."""
    trials, seen = [], set()
    for item in items:
        model, task, preset = item.model, item.task, item.preset
        if len(preset.search_grid) < 2 or model.role in UNTRAINED_ROLES or (id(model), task.name) in seen:
            continue
        seen.add((id(model), task.name))
        where = lr_search.search_path(
            item.spec.code, model.id, item.ident.revision, task.name, task.version, preset.name
        )
        for rate in lr_search.missing_rates(where, preset.search_grid):
            label = f"{model.id} · {task.name} · seed 0 · lr {rate:g} (search)"
            trials.append(dataclasses.replace(item, index=-1, label=label, seed=0, trial_rate=rate))
    return trials


def run_parallel(
    run_one: RunOne,
    items: list[RunItem],
    jobs: int,
    listener: EvalListener,
    done: dict[int, tuple[Path, dict[str, Any], bool]],
) -> None:
    """Run ``run_one(item)`` for each item in up to ``jobs`` worker processes (the CPUs split evenly among the
    workers; ``run_one`` must be a module-level function, pickled by name); the first failure cancels what has
    not started. A record's result goes into ``done`` under its plan index; a trial's only to the listener."""
    if not items:
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from zoo.bench.protocol import n_cpus

    for item in items:
        item.ident.info()  # load each model once here, not once per worker
    jobs = min(jobs, len(items))
    context = multiprocessing.get_context("spawn")
    epochs = context.Queue()  # (label, epoch, select score, seconds) from the workers
    running = context.Value("i", jobs)  # runs in flight; a worker's torch threads are the CPUs over it
    shown = threading.Thread(target=_show_epochs, args=(epochs, listener), daemon=True)
    shown.start()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(n_cpus(), epochs, running),
    )
    try:
        futures = {pool.submit(_run_in_worker, run_one, item): item for item in items}
        pending = set(futures)
        while pending:
            # each run as it ends (FIRST_EXCEPTION would wait for all of them unless one fails)
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            running.value = max(1, min(jobs, len(pending)))
            for fut in finished:
                item = futures[fut]
                path, record = fut.result()  # re-raises the worker's error
                if item.trial_rate is not None:
                    listener.trial_finished(item.label, record)
                    continue
                done[item.index] = (path, record, False)
                listener.run_finished(item.label, record, skipped=False)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a worker flushes its queued epochs before it exits
        epochs.put(None)
        shown.join()


def _show_epochs(epochs: Any, listener: EvalListener) -> None:
    """The parent's thread that hands the workers' epochs to the listener, until ``None``."""
    while (message := epochs.get()) is not None:
        listener.epoch(*message)


_EPOCHS: Any = None  # in a worker: the queue to the parent
_CPUS = 1  # in a worker: the CPUs all workers share
_RUNNING: Any = None  # in a worker: the parent's count of runs in flight


def _init_worker(cpus: int, epochs: Any, running: Any) -> None:
    global _EPOCHS, _CPUS, _RUNNING
    _EPOCHS, _CPUS, _RUNNING = epochs, cpus, running
    take_free_cpus()


def take_free_cpus() -> None:
    """In a worker: set torch's threads to this run's share of the CPUs among the runs in flight (more once
    others have ended and none waits)."""
    import torch

    threads = max(1, _CPUS // max(1, _RUNNING.value))
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)


def _run_in_worker(run_one: RunOne, item: RunItem) -> tuple[Path, dict[str, Any]]:
    """``run_one(item)`` in a worker process, its epochs sent to the parent."""
    from zoo.evaluation.finetune import EPOCH_LISTENER

    take_free_cpus()
    EPOCH_LISTENER.set(functools.partial(_send_epoch, item.label))
    return run_one(item)


def _send_epoch(label: str, epoch: int, score: float, elapsed_s: float) -> None:
    _EPOCHS.put((label, epoch, score, elapsed_s))
    take_free_cpus()  # between epochs: the next one runs on the CPUs freed by runs that ended
