"""Progress of ``zoo eval`` / ``zoo run``: the listener hooks and the plain log lines for non-terminals."""

from __future__ import annotations

import time
from typing import Any


class EvalListener:
    """Progress hooks of :func:`evaluate` (the CLI shows them with rich); the default does nothing."""

    def start(self, total: int) -> None: ...

    def run_started(self, label: str) -> None: ...

    def epoch(self, label: str, epoch: int, score: float, elapsed_s: float) -> None:
        """Run ``label`` finished an epoch: its select score, seconds since the run began (with ``--jobs``,
        the runs' epochs arrive interleaved, each with its label)."""

    def run_finished(self, label: str, record: dict[str, Any] | None, skipped: bool) -> None: ...

    def trial_finished(self, label: str, trial: dict[str, Any]) -> None:
        """A learning-rate trial run apart (``--jobs``): not a record, so not a finished run of the plan."""

    def note(self, text: str) -> None:
        """A choice the evaluation made on this machine (``--jobs auto``), said once before the runs."""


def trial_line(label: str, trial: dict[str, Any]) -> str:
    """One line for a finished learning-rate trial: its best select score, chosen epoch and time."""
    d = trial.get("details") or {}
    wall = d.get("run_wall_s")
    epoch = f", best epoch {d['best_epoch']} of {d['epochs_run']}" if d.get("epochs_run") else ""
    took = f", {wall:.0f} s" if wall is not None else ""
    return f"{label}: select {trial['select_best']:.2f}{epoch}{took}"


def run_line(label: str, record: dict[str, Any]) -> str:
    """One line for a finished run: every score (main metric first), chosen epoch, time, convergence."""
    t, d = record["task"], record.get("details") or {}
    main = t["main_metric"]
    scores = [f"{main} {record['scores'][main]:.2f}"]
    scores += [f"{k} {v:.2f}" for k, v in record["scores"].items() if k != main]
    epoch = f"best epoch {d['best_epoch']} of {d['epochs_run']}" if d.get("epochs_run") else d.get("rule")
    lr = f"lr {d['learning_rate']:g}" if d.get("learning_rate") else None
    flag = "NOT CONVERGED (still rising at max_epochs)" if d.get("converged") is False else None
    wall = record.get("wall_time_s")
    extra = [x for x in (epoch, lr, f"{wall:.0f} s" if wall is not None else None, flag) if x]
    return f"{label}: {', '.join(scores)}" + (f" ({', '.join(extra)})" if extra else "")


class PlainListener(EvalListener):
    """Progress as plain log lines (for logs that are not a terminal: nohup, CI, a cluster job)."""

    def __init__(self, echo):
        self.echo, self.total, self.n = echo, 0, 0

    def start(self, total: int) -> None:
        self.total = total

    def run_started(self, label: str) -> None:
        self.echo(f"[{time.strftime('%H:%M:%S')}] start {label} ({self.n + 1}/{self.total})")

    def epoch(self, label: str, epoch: int, score: float, elapsed_s: float) -> None:
        self.echo(
            f"[{time.strftime('%H:%M:%S')}] {label} · epoch {epoch}: select {score:.2f} ({elapsed_s:.0f} s)"
        )

    def trial_finished(self, label: str, trial: dict[str, Any]) -> None:
        self.echo(f"[{time.strftime('%H:%M:%S')}] done {trial_line(label, trial)}")

    def note(self, text: str) -> None:
        self.echo(f"[{time.strftime('%H:%M:%S')}] {text}")

    def run_finished(self, label: str, record: dict[str, Any] | None, skipped: bool) -> None:
        self.n += 1
        if record is not None:
            prefix = "skipped (in the store)" if skipped else "done"
            self.echo(f"[{time.strftime('%H:%M:%S')}] {prefix} {run_line(label, record)}")
