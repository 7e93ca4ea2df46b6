"""The ``zoo run`` manifest ``runs/run-<lang>.json``: typed (:class:`RunManifest`), shared by its writer
(:func:`zoo.pipeline.run_language`) and its readers.

It describes the current invocation (steps with status and wall time, refreshed by a heartbeat while a
step runs) and keeps every earlier invocation under ``earlier``; ``work_s`` sums each step's time over the
invocations with the same preset and sizes, so a run stopped and continued says how long its work took.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from zoo.errors import ZooError
from zoo.results.record import Environment
from zoo.schema import Part, Record


class StepEntry(Part):
    """One step of an invocation: ``running`` (its last heartbeat), ``done``, ``skipped`` or ``failed``."""

    name: str
    status: Literal["running", "done", "skipped", "failed"]
    wall_time_s: float
    started: str | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None


class Invocation(Part):
    """One ``zoo run`` invocation (fields that a killed or older run may lack are optional)."""

    lang: str
    preset: str
    sizes: list[str]
    to: str | None = None
    started: str | None = None
    finished: str | None = None
    environment: Environment | None = None
    steps: list[StepEntry] = Field(default_factory=list)


class RunManifest(Invocation, Record):
    """The manifest file: the current invocation, the earlier ones, and the summed step times."""

    SCHEMA_NAME = "run-manifest"

    earlier: list[Invocation] = Field(default_factory=list)
    work_s: dict[str, float] | None = None

    def with_step(self, step: StepEntry | None) -> RunManifest:
        """A copy with ``step`` appended (a running step's latest state) and ``work_s`` summed again."""
        now = self.model_copy(update={"steps": [*self.steps, *([step] if step else [])]})
        now.work_s = work_seconds([*self.earlier, now], now)
        return now

    def as_invocation(self) -> Invocation:
        """This manifest without ``earlier`` and ``work_s``: how the next invocation keeps it."""
        given = [k for k in Invocation.model_fields if k in self.model_fields_set]
        return Invocation(**{k: getattr(self, k) for k in given})


def earlier_invocations(path: Path) -> list[Invocation]:
    """The invocations recorded in an existing manifest, oldest first (an unreadable one is dropped)."""
    if not path.is_file():
        return []
    try:
        old = RunManifest.read(path)
    except ZooError:
        return []
    return [*old.earlier, old.as_invocation()]


def work_seconds(invocations: list[Invocation], current: Invocation) -> dict[str, float]:
    """Seconds per step (and ``total``) over the invocations with the current preset and sizes."""
    totals: dict[str, float] = {}
    for inv in invocations:
        if inv.preset != current.preset or inv.sizes != current.sizes:
            continue
        for step in inv.steps:
            totals[step.name] = totals.get(step.name, 0.0) + step.wall_time_s
    totals["total"] = sum(totals.values())
    return {k: round(v, 1) for k, v in totals.items()}
