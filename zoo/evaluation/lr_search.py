"""The learning-rate search of a preset: seed 0 of every (model, task) tries each rate of the grid.

One rate does not serve every model (a 4-layer student and a 12-layer teacher converge at different rates),
so a preset may list ``learning_rates``. Seed 0 trains once per rate; the rate whose run reached the best
**select**-split score wins (the score split is never looked at), seed 0's record is that run, and every
other seed trains at the chosen rate. Every model goes through the same search, and every record says
what was tried (``details.lr_search``).

Trials are kept in one JSON file per (model revision, task version, preset), written atomically after each
trial, so a killed search resumes at the next rate. The file lives beside the model's records, in a
sub-folder the results store does not read as records. Trials may run at once in several processes
(``zoo eval --jobs``): each stores its trial under a file lock (``filelock``, as the Hub cache does), so
none overwrites another's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.evaluation.types import TaskRun
from zoo.fileio import write_json_atomic
from zoo.results import RecordKey

SCHEMA = "time-zoo/lr-search@1"


def search_path(
    lang: str, model_id: str, revision: str, task_name: str, task_version: int, preset: str
) -> Path:
    """Where the trials of one (model revision, task version, preset) are kept."""
    record = RecordKey("eval", lang, model_id, revision, task_name, task_version, preset=preset).path()
    return record.parent / "lr-search" / (record.stem + ".json")


def rate_key(rate: float) -> str:
    """A learning rate as a JSON key (``1e-04``)."""
    return f"{rate:.0e}" if rate == float(f"{rate:.0e}") else repr(rate)


def best_select_score(run: TaskRun | dict[str, Any]) -> float:
    """The best select-split score of a run (its selection curve's maximum)."""
    details = run.details if isinstance(run, TaskRun) else run["details"]
    curve = details.get("curve") or {}
    return max((float(v) for v in curve.values()), default=-math.inf)


def load(path: Path) -> dict[str, Any]:
    """The stored search (empty when none)."""
    if not path.is_file():
        return {"schema": SCHEMA, "trials": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ZooError(
            f"{path}: not a learning-rate search file ({data.get('schema')!r})",
            hint="delete it to search again",
        )
    return data


def chosen_rate(path: Path, grid: tuple[float, ...]) -> float | None:
    """The winning rate once every rate of ``grid`` has been tried, else None."""
    return _winner(load(path)["trials"], grid)


def _winner(trials: dict[str, Any], grid: tuple[float, ...]) -> float | None:
    """:func:`chosen_rate` of stored ``trials``: the best select score, ties to the first rate of ``grid``."""
    if any(rate_key(r) not in trials for r in grid):
        return None
    return max(grid, key=lambda r: (trials[rate_key(r)]["select_best"], -grid.index(r)))


def missing_rates(path: Path, grid: tuple[float, ...]) -> list[float]:
    """The rates of ``grid`` without a stored trial."""
    trials = load(path)["trials"]
    return [r for r in grid if rate_key(r) not in trials]


def run_trial(
    path: Path,
    grid: tuple[float, ...],
    rate: float,
    train: Callable[[float], TaskRun],
    keep_files: Callable[[TaskRun, float], dict[str, str | None]],
) -> dict[str, Any]:
    """Train the trial at ``rate`` and store it (under the search file's lock); returns the stored trial.

    ``train(rate)`` is one seed-0 run at that rate (its wall time in ``details["run_wall_s"]``);
    ``keep_files(run, rate)`` moves its prediction (and gold subset) files somewhere permanent and returns
    ``{"predictions": path, "gold": path}``.
    """
    from filelock import FileLock

    run = train(rate)
    trial = {
        "learning_rate": rate,
        "select_best": best_select_score(run),
        "scores": run.scores,
        "details": run.details,
        **keep_files(run, rate),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        data = load(path)  # again: another process may have stored a trial meanwhile
        data["grid"] = list(grid)
        data["trials"][rate_key(rate)] = trial
        write_json_atomic(path, data)
    return trial


def run_search(
    path: Path,
    grid: tuple[float, ...],
    train: Callable[[float], TaskRun],
    keep_files: Callable[[TaskRun, float], dict[str, str | None]],
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """Run the trials of ``grid`` not yet stored (:func:`run_trial`); returns ``(chosen rate, its trial,
    search summary)``. Ties go to the first rate of the grid."""
    for rate in missing_rates(path, grid):
        run_trial(path, grid, rate, train, keep_files)
    trials = load(path)["trials"]
    search = _summary(trials, grid)
    chosen = search["chosen"]
    assert chosen is not None
    return chosen, trials[rate_key(chosen)], search


def summary(path: Path, grid: tuple[float, ...]) -> dict[str, Any]:
    """What every record of the search says: the grid, each rate's best select score, the winner."""
    return _summary(load(path)["trials"], grid)


def _summary(trials: dict[str, Any], grid: tuple[float, ...]) -> dict[str, Any]:
    return {
        "grid": list(grid),
        "select_best": {rate_key(r): round(trials[rate_key(r)]["select_best"], 4) for r in grid},
        "run_wall_s": {rate_key(r): trials[rate_key(r)]["details"].get("run_wall_s") for r in grid},
        "chosen": _winner(trials, grid),
        "on": "seed 0, best select-split score",
    }
