"""``zoo eval``: run every (model, task, seed) of a language and append one results record per run.

Each run goes to its task family's function, or to the constant baseline's or a peer library's
(:mod:`zoo.evaluation.dispatch`).

Resume: a run whose record exists (same model id + revision, task + version, seed and preset) is skipped
unless ``force``. A record is written atomically only after its run finished, so a killed evaluation
loses no finished record and leaves no partial one. Each run trains in a scratch directory under
``<work>/runs/eval/`` that is removed when the run ends; the score split's predictions are kept under
``<work>/predictions/`` next to the record's name.

Presets: the preset name (``--set`` changes make a new name) is ``task["preset"]`` of every record and part
of its key, so scores of different recipes never overwrite, skip or average with each other. A record
of the same name made with other preset fields (a preset changed since) stops the run with an error
naming the fields, before any training; ``force`` replaces such records. ``variant`` stays null (it
names runtimes such as ONNX in benchmark records).

Runtime check (``runtime_check``, ``zoo eval --runtime-check``): the NER and POS runs that train score their
head again through the listed runtimes (:mod:`zoo.evaluation.runtime_check`) into ``details.runtime_check``.
It is not part of a record's key: a record that exists is skipped as usual, and :attr:`EvalSummary.notes`
says how many of those have no check (``force`` recomputes them with it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError
from zoo.evaluation import lr_search
from zoo.evaluation.dispatch import UNTRAINED_ROLES, checks_runtimes, model_seeds, peer_module, run_task
from zoo.evaluation.jobs_probe import JobsChoice, choose_jobs
from zoo.evaluation.parallel import RunItem, run_parallel, search_trials
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.progress import EvalListener
from zoo.evaluation.types import TaskRun
from zoo.models import (
    ModelRef,
    count_parameters,
)
from zoo.paths import work_dir
from zoo.registry import LanguageSpec, TaskSpec
from zoo.results import ModelInfo, RecordKey, find_record, make_record, save_record, slug


def record_task(task: TaskSpec, preset: EvalPreset) -> dict[str, Any]:
    """The ``task`` part of a record: name, family, version, scored split, main metric, preset."""
    return {
        "name": task.name,
        "family": task.family,
        "version": task.version,
        "split": task.splits["score"],
        "main_metric": task.main_metric,
        "preset": preset.name,
        "protocol": preset.protocol,
    }


def predictions_path(record_file: Path, suffix: str) -> Path:
    """Where the predictions of a record are kept: ``<work>/predictions/<lang>/<model>/<record name>``."""
    return (
        work_dir()
        / "predictions"
        / record_file.parent.parent.name
        / record_file.parent.name
        / (record_file.stem + suffix)
    )


@dataclass
class EvalSummary:
    """What :func:`evaluate` did."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # new and skipped, in run order
    notes: list[str] = field(default_factory=list)  # what the runtime check left out, and why
    jobs: dict[str, Any] | None = None  # runs at once and why (JobsChoice.as_dict); None: nothing ran


class ModelIdentity:
    """Revision (content hash) and parameter counts of a model, computed once."""

    def __init__(self, ref: ModelRef):
        self.ref = ref
        self.revision = ref.revision()
        self._info: ModelInfo | None = None

    def info(self) -> ModelInfo:
        if self._info is None and self.ref.role == "peer":
            from zoo.peers.spacy_pipeline import load_pipeline, pipeline_params

            self._info = self.ref.info(pipeline_params(load_pipeline(self.ref)))
        if self._info is None and not self.ref.has_weights:  # the constant baseline: no parameters
            self._info = self.ref.info({})
        if self._info is None:
            from zoo.evaluation.heads import quiet_transformers

            try:
                with quiet_transformers():
                    encoder = self.ref.load_model(seed=0)
            except (OSError, ValueError) as e:
                raise ZooError(f"could not load model {self.ref.id}: {e}") from None
            params = count_parameters(encoder)
            del encoder
            info = self.ref.info(params)
            self._info = dataclasses.replace(info, revision=self.revision)
        return self._info


def evaluate(
    spec: LanguageSpec,
    models: list[ModelRef],
    tasks: list[TaskSpec],
    seeds: Iterable[int],
    preset: EvalPreset,
    force: bool = False,
    listener: EvalListener | None = None,
    jobs: int | str = 1,
    runtime_check: Sequence[str] = (),
) -> EvalSummary:
    """Run every (model, task, seed) not yet in the results store (all of them with ``force``).

    ``jobs > 1`` runs that many fine-tuning runs at once, each in its own process with
    ``cpu_count // jobs`` torch threads (more between epochs once fewer runs are left than workers); records
    are the same files either way. ``jobs="auto"``: the number :mod:`zoo.evaluation.jobs_probe` measures as
    fastest here for the largest model left to fine-tune (no probe when nothing is left to run); the choice
    goes into each new record's ``details.eval_jobs`` and to the listener's ``note``. ``runtime_check``:
    runtimes (or ``auto``) to score NER and POS heads through as well (see the module docstring).
    """
    from zoo.evaluation.finetune import EPOCH_LISTENER

    listener = listener or EvalListener()
    seeds = list(seeds)
    for m in models:
        if m.role == "peer":
            check = peer_module(m)[1]
            for t in tasks:
                check(m, t)
    plan = [(m, t, s) for m in models for t in tasks for s in model_seeds(m, seeds)]
    listener.start(len(plan))
    identities = {id(m): ModelIdentity(m) for m in models}
    checked, notes = _runtime_plan(spec, models, tasks, identities, runtime_check)
    done: dict[int, tuple[Path, dict[str, Any], bool]] = {}  # plan index -> (record file, record, skipped)
    todo: list[RunItem] = []
    fields = dataclasses.asdict(preset)
    stale: list[tuple[Path, list[str]]] = []  # records of this preset name made with other fields
    unchecked = 0  # existing records, skipped, without the runtime check asked for
    for i, (model, task, seed) in enumerate(plan):
        ident = identities[id(model)]
        label = f"{model.id} · {task.name} · seed {seed}"
        key = RecordKey("eval", spec.code, model.id, ident.revision, task.name, task.version, seed,
                        preset=preset.name)
        existing = None if force else find_record(key)
        runtimes = checked.get(id(model), ()) if checks_runtimes(model, task) else ()
        if existing is None:
            todo.append(RunItem(i, label, spec, model, ident, task, seed, preset, force, runtimes))
        elif changed := _changed_fields(existing, fields):
            stale.append((key.path(), changed))
        else:
            done[i] = (key.path(), existing, True)
            had = (existing["details"].get("runtime_check") or {}).get("runtimes") or {}
            unchecked += bool(set(runtimes) - set(had))
            listener.run_finished(label, existing, skipped=True)
    if stale:
        first, changed = stale[0]
        raise UsageError(
            f"{len(stale)} record(s) of preset '{preset.name}' were made with other preset fields "
            f"({', '.join(changed)}), e.g. {first}",
            hint="recompute them with --force (the old records are replaced), or keep them and give the "
            "changed recipe a new preset name",
        )
    chosen = None  # how many runs at once, and why; nothing to choose when every run is stored
    if todo:
        choice = _jobs_choice(jobs, todo)
        if choice.mode == "auto":
            listener.note(choice.line())
        chosen, jobs = choice.as_dict(), choice.jobs
        todo = [dataclasses.replace(item, jobs=chosen) for item in todo]
    if todo and jobs > 1:
        # first the learning-rate trials (each a seed-0 run at one rate, all at once), then every seed:
        # seed 0's record is its chosen trial, the other seeds train at the chosen rate
        run_parallel(_run_one, search_trials(todo), jobs, listener, done)
        run_parallel(_run_one, todo, jobs, listener, done)
    else:
        for item in todo:
            listener.run_started(item.label)
            token = EPOCH_LISTENER.set(functools.partial(listener.epoch, item.label))
            try:
                path, record = _run_one(item)
            finally:
                EPOCH_LISTENER.reset(token)
            done[item.index] = (path, record, False)
            listener.run_finished(item.label, record, skipped=False)
    if unchecked:
        notes.append(f"runtime check: {unchecked} run(s) were skipped (their records exist) without a check "
                     "of every runtime asked for; --force recomputes them with it")
    summary = EvalSummary(notes=notes, jobs=chosen)
    for i in sorted(done):
        path, record, skipped = done[i]
        (summary.skipped if skipped else summary.written).append(path)
        summary.records.append(record)
    return summary


def _runtime_plan(
    spec: LanguageSpec,
    models: list[ModelRef],
    tasks: list[TaskSpec],
    identities: dict[int, ModelIdentity],
    names: Sequence[str],
) -> tuple[dict[int, tuple[str, ...]], list[str]]:
    """The runtimes each model's NER/POS runs are checked in (``auto`` resolved from its bench records), and
    notes on what is left out; an error when no run could take the check."""
    if not names:
        return {}, []
    from zoo.evaluation.runtime_check import FAMILIES, resolve_runtimes

    pairs = [(m, t) for m in models for t in tasks if checks_runtimes(m, t)]
    if not pairs:
        raise UsageError(
            "--runtime-check applies to fine-tuned NER and POS heads; none is among these models and tasks",
            hint=f"add a task of family {' or '.join(FAMILIES)} with --tasks, or drop --runtime-check",
        )
    notes = []
    other = sorted({t.name for t in tasks if t.family not in FAMILIES})
    if other:
        notes.append(f"runtime check: NER and POS heads only; not checked: {', '.join(other)}")
    checked = {}
    for m in {id(m): m for m, _ in pairs}.values():
        found = resolve_runtimes(names, spec.code, m.id, identities[id(m)].revision)
        if found:
            checked[id(m)] = tuple(found)
        else:
            notes.append(f"runtime check: {m.id}'s fastest checked runtime is eager fp32: nothing to check")
    return checked, notes


def _changed_fields(record: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    """The preset fields ``record`` was made with that differ from ``fields`` (none for a record that does not
    list them; a field it lacks was added since, with its default: not a change)."""
    recorded = (record.get("details") or {}).get("preset_fields") or {}
    fields = json.loads(json.dumps(fields))  # tuples as lists, as the record stores them
    changed = [f"{k} {recorded[k]!r} -> {v!r}" for k, v in fields.items() if recorded.get(k, v) != v]
    return changed + [f"{k} {recorded[k]!r} (no longer a field)" for k in sorted(set(recorded) - set(fields))]


def _jobs_choice(jobs: int | str, todo: list[RunItem]) -> JobsChoice:
    """``jobs`` as given, or the probe's choice for the largest model (encoder parameters) left to train."""
    trained = [item for item in todo if item.model.role not in UNTRAINED_ROLES]
    if jobs != "auto" or not trained:
        return choose_jobs(jobs)
    largest = max(trained, key=lambda item: item.ident.info().params.get("encoder", 0))
    return choose_jobs(jobs, largest.model.load_config(), largest.model.id)


def _run_one(item: RunItem) -> tuple[Path, dict[str, Any]]:
    """One seed's record of (model, task); with ``item.trial_rate``, only that learning-rate trial of the
    search (stored in the search file; returns its path and the stored trial)."""
    spec, model, ident, task, seed = item.spec, item.model, item.ident, item.task, item.seed
    preset, force, runtimes, trial_rate = item.preset, item.force, item.runtimes, item.trial_rate
    info = ident.info()
    target = RecordKey(
        "eval", spec.code, model.id, ident.revision, task.name, task.version, seed, preset=preset.name
    ).path()
    scratch_root = work_dir() / "runs" / "eval" / slug(spec.code) / slug(model.id)
    scratch_root.mkdir(parents=True, exist_ok=True)
    grid = preset.search_grid if model.role not in UNTRAINED_ROLES else (preset.learning_rate,)

    def train(rate: float, run_seed: int) -> TaskRun:
        import torch

        scratch = Path(tempfile.mkdtemp(prefix=f"{slug(task.name)}-seed{run_seed}-", dir=scratch_root))
        t0, threads = time.perf_counter(), torch.get_num_threads()
        try:
            recipe = dataclasses.replace(preset, learning_rate=rate)
            run = run_task(model, task, run_seed, recipe, scratch, runtimes)
            run.details["run_wall_s"] = round(time.perf_counter() - t0, 2)
            # the run's own threads: a seed-0 record may be written later, by another process, from its trial;
            # under --jobs a run takes more threads between epochs once other runs have ended
            run.details["torch_threads"] = threads
            run.details["eval_jobs"] = item.jobs
            if (at_end := torch.get_num_threads()) != threads:
                run.details["torch_threads_at_end"] = at_end
            # the files leave the scratch dir before it is removed
            kept = {"predictions": run.predictions, "gold": run.gold}
            for key, path in kept.items():
                if path is not None and Path(path).is_file():
                    parked = scratch_root / f"{scratch.name}.{key}{Path(path).suffix}"
                    os.replace(path, parked)
                    kept[key] = parked
            run.predictions, run.gold = kept["predictions"], kept["gold"]
            return run
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def keep_files(run: TaskRun, tag: str) -> dict[str, str | None]:
        """Move a run's predictions (and gold subset) next to the record's name; returns their paths."""
        out: dict[str, str | None] = {"predictions": None, "gold": None}
        for key, path in (("predictions", run.predictions), ("gold", run.gold)):
            if path is not None and Path(path).is_file():
                suffix = ("" if key == "predictions" else ".gold") + tag + Path(path).suffix
                kept = predictions_path(target, suffix)
                kept.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, kept)  # same file system: atomic
                out[key] = str(kept)
        return out

    t0 = time.perf_counter()
    search: dict[str, Any] | None = None
    if len(grid) == 1:
        run = train(grid[0], seed)
        scores, details, files = run.scores, run.details, keep_files(run, "")
    else:
        where = lr_search.search_path(
            spec.code, model.id, ident.revision, task.name, task.version, preset.name
        )
        if trial_rate is not None:
            trial = lr_search.run_trial(
                where,
                grid,
                trial_rate,
                lambda rate: train(rate, 0),
                lambda run, rate: keep_files(run, f".lr{lr_search.rate_key(rate)}"),
            )
            return where, trial
        chosen = lr_search.chosen_rate(where, grid)
        if seed == 0 or chosen is None:  # the search trains seed 0 at every rate (resuming stored trials)
            chosen, trial, search = lr_search.run_search(
                where,
                grid,
                lambda rate: train(rate, 0),
                lambda run, rate: keep_files(run, f".lr{lr_search.rate_key(rate)}"),
            )
        else:
            search = lr_search.summary(where, grid)
        if seed == 0:
            scores, details = trial["scores"], trial["details"]
            files = {"predictions": trial.get("predictions"), "gold": trial.get("gold")}
        else:
            run = train(chosen, seed)
            scores, details, files = run.scores, run.details, keep_files(run, "")
    wall = details.get("run_wall_s") or round(time.perf_counter() - t0, 2)
    details = {
        **details,
        "preset": preset.name,
        "preset_fields": dataclasses.asdict(preset),
        "protocol": preset.protocol,
        "score_split": task.splits["score"],
    }
    if search is not None:
        details["lr_search"] = search
    if files["predictions"]:
        details["predictions"] = files["predictions"]
    if files["gold"]:
        details["gold"] = files["gold"]
    record = make_record(
        "eval",
        spec.code,
        info,
        record_task(task, preset),
        scores,
        seed=seed,
        details=details,
        wall_time_s=wall,
    )
    save_record(record, force=force)
    return target, record


def parse_tasks(spec: LanguageSpec, arg: str | None) -> list[TaskSpec]:
    """``--tasks a,b`` (did-you-mean on typos); None: every task of the language."""
    if not arg:
        if not spec.tasks:
            raise UsageError(f"{spec.code} has no evaluation tasks")
        return list(spec.tasks.values())
    return [spec.task(name.strip()) for name in arg.split(",") if name.strip()]
