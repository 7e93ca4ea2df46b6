"""The results store: one atomic JSON file per (model, revision, task, version, preset, seed, variant).

Records live under ``<work>/results/<lang>/<model>/``, written atomically (temp file + rename), so a killed
run never leaves a partial record and a rerun skips what exists. Every record is validated against
:class:`zoo.results.record.ResultRecord` when it is made, when it is saved and when it is loaded, so writers
and readers share one schema; views receive the validated JSON dicts.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.paths import results_dir
from zoo.results.provenance import environment
from zoo.results.record import SCHEMA, ModelInfo, ResultRecord


def slug(text: str) -> str:
    """A file-name-safe form of a model or task id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", text).strip("-") or "_"


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
    record = {
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
    return ResultRecord.from_json(record, source=f"a new {kind} record").to_json()


@dataclass(frozen=True)
class RecordKey:
    """What identifies a record, and so its file: kind, language, model and revision, task and version, the
    eval preset, the seed, and the bench variant (runtime)."""

    kind: str
    lang: str
    model_id: str
    revision: str
    task_name: str
    task_version: int
    seed: int | None = None
    variant: str | None = None
    preset: str | None = None

    @classmethod
    def of(cls, record: dict[str, Any]) -> RecordKey:
        """The key of a record (dict)."""
        model, task = record["model"], record["task"]
        return cls(record["kind"], record["lang"], model["id"], model["revision"], task["name"],
                   task["version"], record.get("seed"), record.get("variant"), task.get("preset"))

    def path(self, root: Path | None = None) -> Path:
        """Where the record lives: ``<root>/<lang>/<model>/<kind>_<task>_v<version>_r<revision>[_preset-<p>]
        [_seed<n>][_<variant>].json`` (``root``: the results store)."""
        parts = [self.kind, slug(self.task_name), f"v{self.task_version}", f"r{slug(self.revision)}"]
        if self.preset:
            parts.append(f"preset-{slug(self.preset)}")
        if self.seed is not None:
            parts.append(f"seed{self.seed}")
        if self.variant:
            parts.append(slug(self.variant))
        return (root or results_dir()) / slug(self.lang) / slug(self.model_id) / ("_".join(parts) + ".json")


def save_record(record: dict[str, Any], force: bool = False, root: Path | None = None) -> Path:
    """Write a record atomically; an existing record is kept unless ``force`` (never overwritten silently)."""
    path = RecordKey.of(record).path(root)
    if path.exists() and not force:
        raise ZooError(f"result already exists: {path}", hint="pass --force to recompute it")
    return ResultRecord.from_json(record, source=path).write(path)


def find_record(key: RecordKey, root: Path | None = None) -> dict[str, Any] | None:
    """The stored record with this key, or None."""
    path = key.path(root)
    return ResultRecord.read(path).to_json() if path.is_file() else None


def load_records(
    lang: str | None = None, kind: str | None = None, root: Path | None = None
) -> list[dict[str, Any]]:
    """All records (optionally of one language and kind), oldest first. Files that are not JSON, or not
    result records, are skipped; a result record that breaks the schema is an error naming its file."""
    base = root or results_dir()
    pattern = f"{slug(lang)}/*/*.json" if lang else "*/*/*.json"
    out = []
    for path in sorted(base.glob(pattern)):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        ours = isinstance(rec, dict) and rec.get("schema") == SCHEMA
        if ours and (kind is None or rec.get("kind") == kind):
            out.append(ResultRecord.from_json(rec, source=path).to_json())
    out.sort(key=lambda r: r.get("date", ""))
    return out


