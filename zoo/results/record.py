"""The result record ``time-zoo/result@1``: one typed schema for its writers (evaluation, bench) and readers.

One JSON file per (model, revision, task, version, preset, seed, variant)::

    {"schema": "time-zoo/result@1", "kind": "eval" | "bench", "lang": "xh",
     "model": {"id", "revision", "role", "size", "path", "params": {"total", "embedding", "encoder"}},
     "task": {"name", "version", eval: "family", "split", "main_metric", "preset", "protocol"},
     "seed": 0 | null, "variant": null | "onnx-int8" | ...,
     "scores": {metric: value (percent for task metrics)}, "details": {...},
     "wall_time_s": float, "environment": {...}, "date": ISO-8601 UTC}

``role`` is one of :data:`ROLES`: ``peer`` is a published pipeline of another library (``spacy:...``).
``details`` is free-form per task family (head, epochs, timings, learning-rate search, bench settings), but
for its typed keys: ``runtime_check`` (:class:`RuntimeCheck`, written by
:mod:`zoo.evaluation.runtime_check`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.dataclasses import dataclass

from zoo.bench.record_parts import Agreement
from zoo.schema import Part, Record

SCHEMA = "time-zoo/result@1"
ROLES = ("student", "teacher", "init-baseline", "random-baseline", "shape-baseline", "model",
         "constant-baseline", "peer")


@dataclass(config=ConfigDict(extra="forbid"))
class ModelInfo:
    """Identity of an evaluated or benchmarked model (a dataclass: written positionally in many places)."""

    id: str
    revision: str
    role: str = "model"
    size: str | None = None
    path: str | None = None
    params: dict[str, int] = Field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown model role {self.role!r}; expected one of {ROLES}")


class TaskInfo(Part):
    """The ``task`` part: the key fields of every record, the eval fields, and a bench setting's fields."""

    model_config = ConfigDict(extra="allow")  # bench settings add their shape fields (seq_len, device, ...)

    name: str
    version: int
    family: str | None = None
    split: str | None = None
    main_metric: str | None = None
    preset: str | None = None  # eval: the preset name (records before 2026-12-02 called it "budget")
    protocol: str | None = None


class Environment(Part):
    """Library versions, hardware and code version at the time of the run."""

    python: str
    platform: str
    cpu: str
    cpu_count: int | None = None
    libraries: dict[str, str] = Field(default_factory=dict)
    git_commit: str | None = None
    torch_threads: int | None = None
    gpu: str | None = None


class RuntimeScore(Part):
    """One runtime of a runtime check: the task's scores through it, or why it could not run here."""

    status: Literal["ok", "unavailable"]
    device: str
    dtype: str
    scores: dict[str, float] | None = None
    diff_points: float | None = Field(None, description="main metric: runtime - reference, in points")
    within: bool | None = Field(None, description="|diff_points| <= tolerance_points")
    agreement: Agreement | None = None  # the bench's agreement part: one schema for both
    reason: str | None = None
    time_s: float | None = None


class RuntimeCheck(Part):
    """``details.runtime_check``: the fine-tuned head scored again through fast runtimes (fp32 head on each
    runtime's hidden states) against the same path with the eager fp32 encoder."""

    reference: str
    reference_scores: dict[str, float]
    metric: str
    tolerance_points: float
    windows: int
    runtimes: dict[str, RuntimeScore]


class ResultDetails(Part):
    """``details``: free-form per task family (extra keys allowed), typed keys where a view reads them."""

    model_config = ConfigDict(extra="allow")

    runtime_check: RuntimeCheck | None = None


class ResultRecord(Record):
    """One evaluation or efficiency result."""

    SCHEMA_NAME = "result"

    schema_: Literal["time-zoo/result@1"] = Field(SCHEMA, alias="schema")
    kind: Literal["eval", "bench"]
    lang: str
    model: ModelInfo
    task: TaskInfo
    seed: int | None = None
    variant: str | None = None
    scores: dict[str, Any]  # eval: metric -> percent; bench: throughput, latency, energy and their intervals
    details: ResultDetails = Field(default_factory=ResultDetails)
    wall_time_s: float | None = None
    environment: Environment
    date: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _preset_was_budget(cls, data: Any) -> Any:
        """Older records named the preset "budget" (``task.budget``, ``details.budget_fields``)."""
        renamed = {"budget": "preset", "budget_fields": "preset_fields"}
        if not isinstance(data, dict):
            return data
        task, details = data.get("task"), data.get("details")
        if isinstance(task, dict) and "budget" in task:
            data = {**data, "task": {renamed.get(k, k): v for k, v in task.items()}}
        if isinstance(details, dict) and ("budget" in details or "budget_fields" in details):
            data = {**data, "details": {renamed.get(k, k): v for k, v in details.items()}}
        return data

    @field_validator("date")
    @classmethod
    def _iso_date(cls, v: str) -> str:
        import datetime as dt

        dt.datetime.fromisoformat(v)
        return v

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=False)
