"""The leaderboard JSON (``time-zoo/leaderboard@1``) as a typed record, shared by the builder and its readers.

:class:`Leaderboard` is what :func:`zoo.leaderboard.build_leaderboard` returns and ``leaderboard.json``
holds; its JSON Schema is ``zoo/schemas/leaderboard.schema.json`` (copied next to every ``leaderboard.json``).
Values are strict (a string where a number belongs is an error, not converted) and every key is always
written, so the page's JavaScript can rely on it. Task scores are percentages (as in the result records);
``ci95`` is the half-width of the 95% Student-t interval over seeds (null for one seed); ``retention`` is a
ratio (0.9 = 90% of the teacher).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from zoo.schema import Part, Record

SCHEMA = "time-zoo/leaderboard@1"

Role = Literal[
    "student", "teacher", "init-baseline", "random-baseline", "constant-baseline", "shape-baseline", "model",
    "peer",
]
Protocol = Literal["standard", "learning-curve", "smoke"]


class _Part(Part):
    # strict: no silent str -> number conversion; every key is written, so the schema requires them all
    model_config = ConfigDict(strict=True, json_schema_serialization_defaults_required=True)


class Generator(_Part):
    """The package that built the document."""

    package: Literal["time-zoo"] = "time-zoo"
    version: str
    git_commit: str | None


class LanguageTask(_Part):
    """A task scored in the language (its newest version under the chosen preset)."""

    name: str
    family: str | None
    version: int
    main_metric: str


class SpeedSetting(_Part):
    """The language's reference speed setting: the one benchmarked for the most models."""

    seq_len: int | None
    device: str
    hardware: str | None = Field(description="CPU or GPU name")
    threads: int | None


class Excluded(_Part):
    """Records of the language left out of its rows, by reason."""

    old_revision: int = Field(ge=0)
    other_preset: int = Field(ge=0)
    old_task_version: int = Field(ge=0)
    eval_variant: int = Field(ge=0)


class Reported(_Part):
    """A score published in the literature (language file, ``reported:``); not measured here."""

    task: str
    model: str
    metric: str = Field(description="one of the task's metrics")
    score: float = Field(ge=0, le=100, description="percent, as published")
    citation: str = Field(description="paper + table, or doc page + model version")
    url: str
    protocol: str = Field(description="how the score was obtained (often not our protocol)")
    note: str | None


class ZeroShotTask(_Part):
    """A task scored zero-shot with lm-eval in the language, with the accuracy of a uniform guess."""

    name: str
    chance: float | None = Field(description="percent")


class Language(_Part):
    """One language: its preset, tasks, reference teacher and speed setting, Pareto front, reported scores."""

    code: str
    name: str
    preset: str | None = Field(description="the eval preset whose scores are shown")
    protocol: Protocol | None = Field(description="the protocol of the language's chosen preset")
    presets: dict[str, int] = Field(description="eval records per preset")
    tasks: list[LanguageTask]
    retention_reference: str | None = Field(description="the teacher row that retention is relative to")
    speed_setting: SpeedSetting | None
    pareto_mean: list[str] = Field(description="row ids on the front of mean score vs best throughput")
    excluded: Excluded
    reported: list[Reported] = Field(
        default_factory=list,
        description="scores published in the literature for the language's tasks; never among the rows, in "
        "a mean, a retention or the Pareto front (older documents lack the key)",
    )
    zero_shot_tasks: list[ZeroShotTask] = Field(
        default_factory=list, description="tasks with zero-shot lm-eval scores (older documents lack it)"
    )


class MetricSummary(_Part):
    """Mean and 95% half-width of one metric over seeds."""

    mean: float | None
    ci95: float | None
    n: int = Field(ge=0)


class RuntimeCheckEntry(_Part):
    """One fast runtime's scores on a task: the fine-tuned head on that runtime's encoder outputs."""

    mean: float | None = Field(description="the main metric over the checked seeds; null when unavailable")
    diff: float | None = Field(description="mean of runtime - eager fp32, in points")
    n: int = Field(ge=0, description="seeds scored through this runtime")
    within: int = Field(ge=0, description="of those, seeds within the tolerance")
    unavailable: str | None = Field(description="why the runtime could not run here, else null")
    text: str | None = Field(
        None, description="its mean score and difference, e.g. `f1 71.8 (−0.2 vs eager fp32)`; null unscored"
    )


class RuntimeCheckSummary(_Part):
    """A task's runtime check over the seeds (``details.runtime_check`` of the eval records,
    :func:`zoo.results.runtime_scores.summarize_runtime_checks`): the score through each fast runtime."""

    metric: str
    reference: str = Field(description="the runtime the others are compared with (eager fp32)")
    reference_mean: float | None
    tolerance_points: float
    seeds: int = Field(ge=1)
    runtimes: dict[str, RuntimeCheckEntry]
    text: str = Field(description="the one line `zoo results` and the cards print")


class TaskScore(_Part):
    """A row's score on one task: the main metric over seeds, the other metrics, retention."""

    family: str | None
    version: int
    main_metric: str
    mean: float
    ci95: float | None
    n: int = Field(ge=1)
    seeds: list[int | None]
    values: list[float]
    metrics: dict[str, MetricSummary] = Field(description="the other metrics' means")
    retention: float | None
    retention_status: Literal["ok", "no teacher", "teacher at chance"] = Field(
        description="teacher at chance: the teacher is not above the constant baseline by more than its 95% "
        "interval, so no ratio"
    )
    protocol: Protocol = Field(
        description="standard: whole splits, comparable with papers; learning-curve: a train subset; "
        "smoke: a test run"
    )
    unconverged_seeds: int = Field(
        0, ge=0, description="seeds whose select score was still rising when they reached max_epochs"
    )
    runtime_check: RuntimeCheckSummary | None = Field(
        None,
        description="scores through the fast runtimes (eager-bf16, ONNX int8, ...) where `zoo eval "
        "--runtime-check` ran; null otherwise (older documents lack the key)",
    )


class ZeroShotScore(_Part):
    """A row's zero-shot lm-eval score on one task (``zoo lm-eval``): no fine-tuning, one run, not comparable
    with the fine-tuned task scores."""

    accuracy: float = Field(ge=0, le=100)
    accuracy_stderr: float | None = Field(description="lm-eval's standard error, percent")
    macro_f1: float | None
    chance: float | None = Field(description="accuracy of a uniform guess, percent")
    n_examples: int | None
    limit: int | None = Field(description="null: the whole split; else the first N examples")
    preset: str | None
    lm_model: str | None = Field(description="the lm-eval model type (time-mlm: pseudo-log-likelihood)")


class Runtime(_Part):
    """One benchmarked runtime of a model (one bench record)."""

    runtime: str = Field(description="eager, onnx-fp32, onnx-int8, ...")
    seq_len: int | None
    device: str
    hardware: str = Field(description="CPU or GPU name, with the thread count")
    cpu: str | None
    gpu: str | None
    threads: int | None
    dtype: str | None
    sentences_per_s: float | None
    sentences_per_s_ci95: list[float] | None = Field(
        min_length=2, max_length=2, description="bootstrap 95% interval [lo, hi]"
    )
    tokens_per_s: float | None
    best_batch_size: int | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    peak_memory_mb: float | None
    disk_mb: float | None
    energy_j_per_1k_sentences: float | None = Field(description="null unless measured or estimated")
    energy_method: str = Field(description="rapl, nvml, 'estimate: ...' or 'not measured'")
    energy_label: Literal["measured", "estimated", "not measured"]
    checked: bool = Field(description="eager, or outputs checked against the eager model")
    in_reference_setting: bool
    date: str | None
    git_commit: str | None


class BatchPoint(_Part):
    """The fastest checked runtime at one batch size (a sweep point of the bench records)."""

    batch_size: int
    runtime: str
    latency_p50_ms: float = Field(description="median time of one batch")
    sentences_per_s: float
    busy: bool = Field(description="other processes used the CPUs while it was timed")


class BestByBatch(_Part):
    """The fastest checked runtime at the smallest batch size measured and at the batch size of the highest
    throughput, in one setting (:func:`zoo.bench.choice.best_latency_and_throughput`)."""

    seq_len: int | None
    device: str | None
    machine: str = Field(description="CPU or GPU name")
    threads: int | None
    points: list[BatchPoint]
    text: str = Field(description="the line the cards show")


class Speed(_Part):
    """The fastest checked runtime in the reference setting, and every runtime (reference setting first)."""

    best: Runtime | None
    runtimes: list[Runtime]
    best_by_batch: BestByBatch | None = None


class Params(_Part):
    """Parameter counts."""

    total: int
    embedding: int
    encoder: int


class Provenance(_Part):
    """Where a row's numbers come from."""

    package_version: str | None
    git_commits: list[str]
    date: str | None = Field(description="the newest record's date")
    first_date: str | None = Field(description="the oldest record's date")
    libraries: dict[str, str]
    model_revision: str
    n_records: int = Field(ge=1)


class Row(_Part):
    """One model in one language."""

    id: str = Field(description="<lang>/<model id>")
    lang: str
    model_id: str
    revision: str
    role: Role
    role_label: str
    size: str | None
    params: Params | None
    card_url: str | None
    preset: str | None
    tasks: dict[str, TaskScore]
    tasks_scored: int = Field(ge=0)
    zero_shot: dict[str, ZeroShotScore] = Field(
        default_factory=dict, description="zero-shot lm-eval scores, not in tasks (older documents lack it)"
    )
    mean_score: float | None = Field(description="mean of the task means; null unless every task is scored")
    mean_retention: float | None
    speed: Speed
    provenance: Provenance


class Leaderboard(Record):
    """TiME Zoo leaderboard: one row per model x language, built by `zoo leaderboard build` from the results
    store (see zoo/leaderboard/build.py for how records are chosen)."""

    SCHEMA_NAME = "leaderboard"
    model_config = ConfigDict(
        strict=True,
        json_schema_serialization_defaults_required=True,
        serialize_by_alias=True,
        validate_by_name=True,
        title="TiME Zoo leaderboard",
    )

    schema_id: Literal["time-zoo/leaderboard@1"] = Field(SCHEMA, alias="schema")  # BaseModel has .schema()
    generated: str = Field(description="ISO-8601 UTC")
    generator: Generator
    card_url_template: str
    n_records: int = Field(ge=1)
    languages: list[Language]
    rows: list[Row]
