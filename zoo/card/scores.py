"""The result and bench records a card shows: per task the student's, the teacher's and the baselines'
(init-only, random, constant) scores (mean and 95 % interval over seeds) and the student's runtime check,
and the newest efficiency record per model and runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zoo.card.context import Student
from zoo.card.fmt import NOT_RECORDED, is_num
from zoo.models import INIT_DIR, init_baseline_id
from zoo.registry import TaskSpec
from zoo.results import choose_preset, load_records, mean_ci95, record_protocol, retention
from zoo.results.runtime_scores import summarize_runtime_checks
from zoo.teachers import content_revision


def _latest_per_seed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_seed: dict[Any, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r.get("date", "")):
        by_seed[r.get("seed")] = r
    return [by_seed[k] for k in sorted(by_seed, key=lambda s: (s is None, s if s is not None else 0))]


def _stats(records: list[dict[str, Any]], metrics: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out = {}
    for m in metrics:
        values = [r["scores"][m] for r in records if is_num(r.get("scores", {}).get(m))]
        if values:
            out[m] = mean_ci95(values)
    return out


@dataclass
class TaskResult:
    """Scores of one task for the student, the teacher, the random, the constant and the init-only baseline
    (each {metric: mean_ci95})."""

    task: TaskSpec
    preset: str | None
    student: dict[str, dict[str, Any]]
    teacher: dict[str, dict[str, Any]]
    random: dict[str, dict[str, Any]]
    seeds: list[Any]
    records: list[dict[str, Any]]
    teacher_revision: str | None = None
    constant: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocol: str | None = None  # of the preset (zoo.results.record_protocol)
    unconverged_seeds: int = 0
    init: dict[str, dict[str, Any]] = field(default_factory=dict)
    runtime_check: dict[str, Any] | None = None  # the student's, over its seeds (zoo.results.runtime_scores)

    @property
    def evaluated(self) -> bool:
        return bool(self.student)

    def retention(self, metric: str) -> dict[str, Any]:
        """Student / teacher on ``metric`` (:func:`zoo.results.retention`, as ``zoo results`` and the
        leaderboard compute it)."""
        s = self.student.get(metric)
        floor = self.constant.get(metric)
        return retention(s["mean"] if s else None, self.teacher.get(metric), floor["mean"] if floor else None)


def collect_eval(student: Student, records: list[dict[str, Any]] | None = None) -> list[TaskResult]:
    """One :class:`TaskResult` per task of the language (not-evaluated tasks have empty scores)."""
    spec = student.spec
    if records is None:
        records = load_records(spec.code, kind="eval")
    teacher_id, teacher_rev = student.teacher
    random_ids = {f"random-{spec.code}-{student.size}", f"random-{student.path.name.removeprefix('time-')}"}
    init_revision = _init_revision(student)
    current = [
        r
        for r in records
        if r.get("kind") == "eval"
        and r["task"].get("name") in spec.tasks
        and r["task"].get("version") == spec.tasks[r["task"]["name"]].version
    ]
    preset = choose_preset(current)  # the leaderboard's rule: both show the same preset's scores
    out = []
    for name, task in spec.tasks.items():
        mine = [r for r in current if r["task"]["name"] == name]
        own = [
            r
            for r in mine
            if r["model"].get("revision") == student.revision
            and r["model"].get("role") in ("student", "model")
            and r["task"].get("preset") == preset
        ]
        if not own:
            out.append(TaskResult(task, None, {}, {}, {}, [], []))
            continue
        own = _latest_per_seed(own)
        same = [r for r in mine if r["task"].get("preset") == preset]
        teachers = [
            r for r in same if r["model"].get("role") == "teacher" and r["model"].get("id") == teacher_id
        ]
        # the teacher revision the student was distilled from, else the newest one evaluated
        t_rev = teacher_rev
        if teachers and t_rev not in {r["model"].get("revision") for r in teachers}:
            t_rev = max(teachers, key=lambda r: r.get("date", ""))["model"].get("revision")
        teachers = _latest_per_seed([r for r in teachers if r["model"].get("revision") == t_rev])
        randoms = _latest_per_seed(
            [
                r
                for r in same
                if r["model"].get("role") == "random-baseline" and r["model"].get("id") in random_ids
            ]
        )
        constants = _latest_per_seed([r for r in same if r["model"].get("role") == "constant-baseline"])
        inits = _latest_per_seed(
            [
                r
                for r in same
                if r["model"].get("role") == "init-baseline"
                and r["model"].get("id") == init_baseline_id(spec.code, student.size)
                and r["model"].get("revision") == init_revision
            ]
        )
        out.append(
            TaskResult(
                task,
                preset,
                _stats(own, task.metrics),
                _stats(teachers, task.metrics),
                _stats(randoms, task.metrics),
                [r.get("seed") for r in own],
                own + teachers + randoms + constants + inits,
                t_rev,
                _stats(constants, task.metrics),
                record_protocol(own[0]),
                sum((r.get("details") or {}).get("converged") is False for r in own),
                _stats(inits, task.metrics),
                summarize_runtime_checks(own),
            )
        )
    return out


def _init_revision(student: Student) -> str | None:
    """The content revision of the student's init-only baseline (None when it has none): records of an
    earlier student's init do not count."""
    path = student.path / INIT_DIR
    return content_revision(path) if (path / "config.json").is_file() else None


@dataclass
class BenchRow:
    """One efficiency record (the newest per model and runtime)."""

    who: str
    record: dict[str, Any]

    @property
    def variant(self) -> str:
        return self.record.get("variant") or "eager"

    @property
    def hardware(self) -> str:
        env = self.record.get("environment") or {}
        details = self.record.get("details") or {}
        hw = env.get("gpu") or env.get("cpu") or NOT_RECORDED
        extras = [f"{details['threads']} threads" if details.get("threads") else None, details.get("dtype")]
        return ", ".join([str(hw)] + [str(x) for x in extras if x])


def collect_bench(student: Student, records: list[dict[str, Any]] | None = None) -> list[BenchRow]:
    """The student's efficiency records and the teacher's, newest per runtime."""
    if records is None:
        records = load_records(student.spec.code, kind="bench")
    teacher_id, _ = student.teacher
    rows: list[BenchRow] = []
    for who, keep in (
        (
            "student",
            lambda m: m.get("revision") == student.revision and m.get("role") in ("student", "model"),
        ),
        ("teacher", lambda m: m.get("role") == "teacher" and m.get("id") == teacher_id),
    ):
        newest: dict[str, dict[str, Any]] = {}
        for r in sorted(records, key=lambda r: r.get("date", "")):
            if r.get("kind") == "bench" and keep(r.get("model", {})):
                newest[r.get("variant") or "eager"] = r
        rows.extend(BenchRow(who, newest[v]) for v in sorted(newest, key=lambda v: (v != "eager", v)))
    return rows
