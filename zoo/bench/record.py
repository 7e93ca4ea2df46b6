"""The bench record (``kind="bench"`` in the results store), typed: :class:`BenchRecord`, and where such
records live (:func:`load_bench_records`, :func:`find_bench_record`).

One record per model x runtime x setting, written by :mod:`zoo.bench.run` (encoders) and
:mod:`zoo.bench.peer` (peer pipelines) and read back as the same model by the speed tables. Its JSON shape
is the results store's ``time-zoo/result@1`` (see :mod:`zoo.results`): readers that still take dicts get
``record.to_json()``. The nested parts are in :mod:`zoo.bench.record_parts`; optional fields that a record
never had stay absent when it is written again.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from zoo.bench.record_parts import BenchDetails
from zoo.results import SCHEMA, Environment, ModelInfo, RecordKey, environment, load_records
from zoo.schema import Part, Record


class BenchTask(Part):
    """The setting: ``speed[-quick]-L<seq_len>-<device>[-t<threads>][-<dtype>]``."""

    name: str
    version: int
    family: str | None = None
    seq_len: int | None = None
    device: str | None = None
    threads: int | None = None
    dtype: str | None = None


class BenchScores(Part):
    """The measured figures at the best batch size (every field None / absent when the runtime failed)."""

    sentences_per_s: float | None = None
    sentences_per_s_ci95: list[float] | None = None
    tokens_per_s: float | None = None
    spacy_tokens_per_s: float | None = None  # peer pipelines: spaCy's own tokens
    best_batch_size: int | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    peak_memory_mb: float | None = None
    disk_mb: float | None = None
    energy_j_per_1k_sentences: float | None = None


class BenchRecord(Record):
    """One bench record: a model x runtime in one setting, with its figures and how they were measured."""

    SCHEMA_NAME: ClassVar[str] = "bench"
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    schema_id: Literal["time-zoo/result@1"] = Field(SCHEMA, alias="schema")
    kind: Literal["bench"] = "bench"
    lang: str
    model: ModelInfo
    task: BenchTask
    seed: int | None = None
    variant: str | None = None  # the runtime (None in old records: eager)
    scores: BenchScores = Field(default_factory=BenchScores)
    details: BenchDetails = Field(default_factory=BenchDetails)
    wall_time_s: float | None = None
    environment: Environment
    date: str = ""

    @classmethod
    def build(
        cls,
        lang: str,
        model: ModelInfo,
        task: dict[str, Any],
        scores: dict[str, Any],
        variant: str,
        details: dict[str, Any],
        wall_time_s: float | None = None,
    ) -> BenchRecord:
        """A new record (environment and date filled in); validated, so a mistyped field fails here."""
        return cls.from_json(
            {
                "schema": SCHEMA,
                "kind": "bench",
                "lang": lang,
                "model": asdict(model),
                "task": dict(task),
                "seed": None,
                "variant": variant,
                "scores": dict(scores),
                "details": details,
                "wall_time_s": wall_time_s,
                "environment": environment(),
                "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            },
            source=f"bench record of {model.id} / {variant}",
        )

    @property
    def runtime(self) -> str:
        """The runtime (``variant``; old records without one timed the eager model)."""
        return self.variant or "eager"

    @property
    def measured(self) -> bool:
        """True when the runtime was timed (a failed one has no scores)."""
        return self.scores.sentences_per_s is not None

    def path(self, root: Path | None = None) -> Path:
        """Where this record lives in the results store."""
        return RecordKey.of(self.to_json()).path(root)

    def save(self, root: Path | None = None) -> Path:
        """Write to the results store (atomically; a rerun replaces the record of the same key)."""
        return self.write(self.path(root))


def find_bench_record(key: RecordKey, root: Path | None = None) -> BenchRecord | None:
    """The stored bench record with this key (``kind="bench"``), or None."""
    path = key.path(root)
    return BenchRecord.read(path) if path.is_file() else None


def load_bench_records(lang: str | None = None, root: Path | None = None) -> list[BenchRecord]:
    """Every bench record of the results store (optionally of one language), oldest first, typed; a record
    that does not validate is an error that names its file (:func:`zoo.results.load_records`)."""
    return [BenchRecord.from_json(r, source=f"bench record {RecordKey.of(r).path(root)}")
            for r in load_records(lang, kind="bench", root=root)]
