"""The results table of a language: tasks × models, main metric mean ± 95% CI over seeds, and retention.

Every number comes from the results store. Records are grouped by (task, task version, preset): scores of
different presets are never averaged together, and every row names its preset's protocol (standard, or a
learning-curve point). Within a group, a model's newest revision is shown (older revisions of a
re-distilled student stay in the store). Retention (:func:`zoo.results.retention`, the one definition the
cards and the leaderboard use too) = student mean / teacher mean on the same task and preset, "n/a" when
the teacher is not above the task's constant baseline; the teacher is the one the student was distilled
from (its ``distillation.json``) when that teacher has results, otherwise the only teacher in the group.
A seed is "not converged" when it reached max_epochs with its select score still rising.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.registry import SIZES, LanguageSpec
from zoo.results.runtime_scores import runtime_check_text, summarize_runtime_checks
from zoo.results.select import PROTOCOL_LABELS, mean_ci95, record_protocol, retention, retention_text
from zoo.results.store import load_records

ROLE_ORDER = {"student": 0, "init-baseline": 1, "random-baseline": 2, "constant-baseline": 3, "model": 4,
              "shape-baseline": 5, "teacher": 6, "peer": 7}
ROLE_LABELS = {"init-baseline": "init only", "random-baseline": "random init", "teacher": "teacher",
               "model": "", "student": "", "shape-baseline": "shape",
               "constant-baseline": "constant baseline", "peer": "peer pipeline"}


def _model_order(m: dict[str, Any]) -> tuple:
    sizes = list(SIZES)
    size = sizes.index(m["size"]) if m.get("size") in sizes else len(sizes)
    return ROLE_ORDER.get(m["role"], 9), size, m["id"]


def _distilled_from(model: dict[str, Any]) -> str | None:
    """The teacher id in a student's ``distillation.json``, when the directory is readable."""
    path = model.get("path")
    if not path:
        return None
    try:
        data = json.loads((Path(path) / "distillation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    teacher = data.get("teacher")
    if isinstance(teacher, dict):
        return teacher.get("id")
    return teacher if isinstance(teacher, str) else data.get("teacher_id")


def summarize(records: list[dict[str, Any]], spec: LanguageSpec | None = None, preset: str | None = None,
              metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of the table, one per (task, version, preset) and metric, from ``kind="eval"`` records.

    ``metrics``: the scores to show (e.g. ``["UPOS", "LAS"]`` for a UD task), each task getting a row for
    every one its records have; a task with none of them, or ``metrics=None``, shows its main metric.
    Each row: ``task, version, preset, metric, models`` (list of ``{id, role, size, revision, mean, ci95, n,
    values, seeds, unconverged_seeds[, runtime_check]}`` in column order; ``runtime_check``:
    :func:`zoo.results.runtime_scores.summarize_runtime_checks`) and ``retention`` (``{student id: {"teacher",
    "percent"}}``, on that row's metric).
    """
    groups: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
    for rec in records:
        if rec.get("kind") != "eval":
            continue
        task = rec["task"]
        name_of_preset = task.get("preset", "?")
        if preset is not None and name_of_preset != preset:
            continue
        group = groups.setdefault((task["name"], task["version"], name_of_preset), {})
        group.setdefault(rec["model"]["id"], []).append(rec)
    order = list(spec.tasks) if spec else []
    rows = []
    for (name, version, group_preset), by_model in sorted(
        groups.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else len(order), kv[0])
    ):
        by_model = {model_id: _newest_revision(recs) for model_id, recs in by_model.items()}
        first = next(iter(by_model.values()))[0]
        main = first["task"].get("main_metric") or next(iter(first["scores"]))
        present = {k for recs in by_model.values() for r in recs for k in r["scores"]}
        teacher_of = {mid: _distilled_from(recs[0]["model"]) for mid, recs in by_model.items()}  # read once
        for metric in [m for m in metrics or () if m in present] or [main]:
            rows.append(_row(name, version, group_preset, by_model, metric, teacher_of))
    return rows


def metrics_of(records: list[dict[str, Any]]) -> list[str]:
    """Every score name in the eval records (for a did-you-mean on ``zoo results --metric``)."""
    return sorted({k for r in records if r.get("kind") == "eval" for k in r.get("scores", {})})


def _newest_revision(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A model's records of its newest revision, by seed (older revisions stay in the store, unshown)."""
    newest = max(recs, key=lambda r: r.get("date", ""))["model"]["revision"]
    return sorted((r for r in recs if r["model"]["revision"] == newest), key=lambda r: r.get("seed") or 0)


def _row(name: str, version: Any, preset: str, by_model: dict[str, list[dict[str, Any]]], metric: str,
         teacher_of: dict[str, str | None]) -> dict[str, Any]:
    """One table row: every model's ``metric`` over its seeds, and the students' retention on it
    (``teacher_of``: each model's teacher from its ``distillation.json``, :func:`_distilled_from`)."""
    models = []
    for model_id, recs in by_model.items():
        values = [float(r["scores"][metric]) for r in recs if metric in r["scores"]]
        m = recs[0]["model"]
        models.append({"id": model_id, "role": m.get("role", "model"), "size": m.get("size"),
                       "revision": m["revision"], "metric": metric,
                       "seeds": [r.get("seed") for r in recs if metric in r["scores"]],
                       "unconverged_seeds": sum(not _converged(r) for r in recs), **mean_ci95(values)})
        if check := summarize_runtime_checks(recs):
            models[-1]["runtime_check"] = check
    models.sort(key=_model_order)
    teachers = {m["id"]: m for m in models if m["role"] == "teacher"}
    floor = next((m["mean"] for m in models if m["role"] == "constant-baseline"), None)
    ratios = {}
    for m in models:
        if m["role"] != "student" or not teachers or m["mean"] is None:
            continue
        source = teacher_of.get(m["id"])
        teacher = teachers.get(source) if source else None
        if teacher is None and len(teachers) == 1:
            teacher = next(iter(teachers.values()))
        if teacher:
            ratios[m["id"]] = {"teacher": teacher["id"], **retention(m["mean"], teacher, floor)}
    protocol = record_protocol(next(iter(by_model.values()))[0])
    return {"task": name, "version": version, "preset": preset, "protocol": protocol,
            "metric": metric, "models": models, "retention": ratios}


def _converged(record: dict[str, Any]) -> bool:
    """False for a seed that reached max_epochs with its select score still rising."""
    d = record.get("details") or {}
    if "converged" in d:
        return bool(d["converged"])
    if d.get("stopped_early") is not False:  # records of families without early stopping
        return True
    return (d.get("best_epoch") or 0) < (d.get("epochs_run") or 0)


def load_summary(lang: str, spec: LanguageSpec | None = None, preset: str | None = None,
                 root: Path | None = None) -> list[dict[str, Any]]:
    """:func:`summarize` over the stored eval records of a language."""
    return summarize(load_records(lang, kind="eval", root=root), spec, preset)


def score_cell(m: dict[str, Any]) -> str:
    """A score as every table prints it: ``85.8 ± 0.7 (n=3)``, ``81.1 (1 seed)``; † a seed not converged."""
    if m["mean"] is None:
        return "-"
    mark = " †" if m.get("unconverged_seeds") else ""
    if m["role"] in ("constant-baseline", "peer"):  # deterministic: one run, no seeds
        return f"{m['mean']:.1f}"
    if m["ci95"] is None:
        return f"{m['mean']:.1f} (1 seed){mark}"
    return f"{m['mean']:.1f} ± {m['ci95']:.1f} (n={m['n']}){mark}"


def column_label(m: dict[str, Any]) -> str:
    """A model's column header: its id, and its role when that is not obvious."""
    role = ROLE_LABELS.get(m["role"], m["role"])
    return f"{m['id']}\n({role})" if role else m["id"]


def render_table(rows: list[dict[str, Any]], title: str = "Results"):
    """A rich Table: one row per task and preset; cells are mean ± 95% CI over n seeds."""
    from rich.table import Table

    columns: dict[str, dict[str, Any]] = {}
    for row in rows:
        for m in row["models"]:
            columns.setdefault(m["id"], m)
    ordered = sorted(columns.values(), key=_model_order)
    students = [m["id"] for m in ordered if m["role"] == "student"]
    table = Table(title=title, caption="mean ± 95% CI over seeds (Student t); retention = student / teacher, "
                  "n/a where the teacher is not above the constant baseline; † some seed not converged "
                  "(its select score still rising at max_epochs)")
    table.add_column("task (metric)")
    table.add_column("preset (protocol)")
    for m in ordered:
        table.add_column(column_label(m), justify="right")
    for sid in students:
        table.add_column(f"retention\n{sid}", justify="right")
    for row in rows:
        by_id = {m["id"]: m for m in row["models"]}
        protocol = row.get("protocol", "standard")
        label = PROTOCOL_LABELS.get(protocol, protocol)
        cells = [f"{row['task']} ({row['metric']})", f"{row['preset']} ({label})"]
        cells += [score_cell(by_id[m["id"]]) if m["id"] in by_id else "-" for m in ordered]
        ret = row["retention"]
        cells += [retention_text(ret[s]) if s in ret else "-" for s in students]
        table.add_row(*cells)
    return table


def runtime_check_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The runtime checks of the table's models, one line per task and model (none: no lines)."""
    lines = [
        f"  {row['task']} ({row['preset']}) · {m['id']}: {runtime_check_text(m['runtime_check'])}"
        for row in rows
        for m in row["models"]
        if m.get("runtime_check")
    ]
    if not lines:
        return []
    return ["Runtime check: the fine-tuned head scored through each runtime's encoder (score split):", *lines]
