"""Several fine-tuning runs at once (``zoo eval --jobs N``): each in a spawned worker process with the CPUs
split evenly among the workers. The learning-rate trials of seed 0 (:mod:`zoo.evaluation.lr_search`) run as
work items of their own before the seeds, so a search does not hold every other run back. Records and trials
are the same files as in one process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.evaluation import lr_search
from zoo.evaluation.dispatch import UNTRAINED_ROLES
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.progress import EvalListener, PlainListener
from zoo.registry import LanguageSpec


def search_trials(
    spec: LanguageSpec, preset: EvalPreset, todo: list[tuple[int, str, tuple]]
) -> list[tuple[int, str, tuple]]:
    """The learning-rate trials not yet stored of every (model, task) in ``todo``, as work items (plan index
    -1) whose run arguments (:func:`zoo.evaluation.runner.evaluate`'s) end with the trial's rate."""
    if len(preset.search_grid) < 2:
        return []
    trials, seen = [], set()
    for _, _, args in todo:
        _, model, ident, task, _, _, force, runtimes = args
        if model.role in UNTRAINED_ROLES or (id(model), task.name) in seen:
            continue
        seen.add((id(model), task.name))
        where = lr_search.search_path(
            spec.code, model.id, ident.revision, task.name, task.version, preset.name
        )
        for rate in lr_search.missing_rates(where, preset.search_grid):
            label = f"{model.id} · {task.name} · seed 0 · lr {rate:g} (search)"
            trials.append((-1, label, (spec, model, ident, task, 0, preset, force, runtimes, rate)))
    return trials


def run_parallel(
    run_one: Callable[..., tuple[Path, dict[str, Any]]],
    todo: list[tuple[int, str, tuple]],
    jobs: int,
    listener: EvalListener,
    done: dict[int, tuple[Path, dict[str, Any], bool]],
) -> None:
    """Run ``run_one(*args)`` for each item of ``todo`` in up to ``jobs`` worker processes (the CPUs split
    evenly among the workers; ``run_one`` must be a module-level function, pickled by name); the first failure
    cancels what has not started. Items of plan index -1 are learning-rate trials."""
    if not todo:
        return
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    for _, _, args in todo:
        args[2].info()  # load each model once here, not once per worker
    jobs = min(jobs, len(todo))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads,),
    )
    try:
        plain = isinstance(listener, PlainListener)  # a log, not a terminal: workers print their epochs too
        futures = {
            pool.submit(_run_in_worker, run_one, label, plain, *args): (i, label) for i, label, args in todo
        }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in finished:
                i, label = futures[fut]
                path, record = fut.result()  # re-raises the worker's error
                if i < 0:
                    listener.trial_finished(label, record)
                    continue
                done[i] = (path, record, False)
                listener.run_finished(label, record, skipped=False)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_in_worker(run_one: Callable, label: str, plain: bool, *args: Any) -> tuple[Path, dict[str, Any]]:
    """``run_one(*args)`` in a worker process; with ``plain``, one log line per epoch on stderr (as the
    parent's :class:`PlainListener` prints them in one process)."""
    if plain:
        import sys

        from zoo.evaluation.finetune import EPOCH_LISTENER

        lines = PlainListener(lambda m: print(m, file=sys.stderr, flush=True))
        lines.label = label
        EPOCH_LISTENER.set(lines.epoch)
    return run_one(*args)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
