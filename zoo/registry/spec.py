"""The typed language specs: a language, its teacher, student sizes, tasks and their data sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import UsageError, did_you_mean


@dataclass(frozen=True)
class StudentShape:
    """A student architecture: BERT with learned absolute positions, FFN = 4 x hidden."""

    name: str
    layers: int
    hidden: int
    heads: int

    @property
    def ffn(self) -> int:
        return 4 * self.hidden


# xs and m are TiME's sizes. s sits between them in depth and width (6 x 512): encoder FLOPs per token
# grow ~2.7x from xs to s and ~2.25x from s to m, so the three sizes are spaced about evenly on a log
# scale of cost, which is what a speed/score trade-off curve needs.
SIZES: dict[str, StudentShape] = {
    "xs": StudentShape("xs", layers=4, hidden=384, heads=6),
    "s": StudentShape("s", layers=6, hidden=512, heads=8),
    "m": StudentShape("m", layers=6, hidden=768, heads=12),
}


@dataclass(frozen=True)
class TeacherRef:
    """A teacher and where its relations are taken from."""

    id: str
    layer: int
    relation_heads: int
    revision: str | None = None


@dataclass(frozen=True)
class HubDataset:
    """A dataset on the Hugging Face Hub (used online when no local copy is configured)."""

    id: str
    config: str | None = None
    revision: str | None = None
    split: str | None = None
    text_field: str | None = None


@dataclass(frozen=True)
class ReportedScore:
    """A published score for a task (``reported:`` in a language file): shown apart, never measured here."""

    model: str
    metric: str
    score: float  # percent, as the task's measured scores
    citation: str  # where exactly: paper + table, or doc page + model version
    url: str
    protocol: str  # how it was obtained, e.g. "full train, test split, gold tokenisation"
    note: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """One evaluation task of one language, resolved from its family template and its own entry."""

    name: str
    lang: str
    family: str
    version: int
    format: str
    head: str
    metrics: tuple[str, ...]
    main_metric: str
    splits: dict[str, str]
    local: dict[str, str]
    hub: HubDataset | None = None
    labels: tuple[str, ...] | None = None
    license: str | None = None
    note: str | None = None
    metric_note: str | None = None
    reported: tuple[ReportedScore, ...] = ()

    @property
    def key(self) -> str:
        """Stable identifier used in results: ``<lang>/<task>``."""
        return f"{self.lang}/{self.name}"

    def local_path(self, split_name: str, data_root: Path) -> Path:
        """The local file of a split name (``train``, ``dev``, ``test``) under the data root."""
        return data_root / self.local[split_name]


@dataclass(frozen=True)
class LanguageSpec:
    """Everything TiME Zoo knows about one language."""

    code: str
    name: str
    script: str
    why: str
    teacher_online: TeacherRef
    teacher_offline: TeacherRef
    teacher_why: str
    corpus_local: tuple[str, ...]
    corpus_hub: tuple[HubDataset, ...]
    corpus_why: str
    sizes: tuple[str, ...]
    recommended_size: str
    students_why: str
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    source: Path | None = None
    corpus_license: str | None = None  # corpus.license: '<file>: <licence>; ...' (MANIFEST.md)

    def corpus_files(self, data_root: Path) -> list[Path]:
        """Local corpus files matching the spec's globs, sorted; empty when none exist."""
        files: list[Path] = []
        for pattern in self.corpus_local:
            files.extend(sorted(p for p in data_root.glob(pattern) if p.is_file()))
        return files

    def task(self, name: str) -> TaskSpec:
        """A task by name, with a did-you-mean error when unknown."""
        if name in self.tasks:
            return self.tasks[name]
        guess = did_you_mean(name, list(self.tasks))
        hint = f"did you mean '{guess}'? " if guess else ""
        raise UsageError(
            f"unknown task '{name}' for {self.code}",
            hint=f"{hint}tasks of {self.code}: {', '.join(self.tasks) or 'none'}",
        )

    def size(self, name: str) -> StudentShape:
        """A student shape by size name, with a did-you-mean error when unknown."""
        if name in self.sizes:
            return SIZES[name]
        guess = did_you_mean(name, list(self.sizes))
        hint = f"did you mean '{guess}'? " if guess else ""
        raise UsageError(
            f"unknown size '{name}' for {self.code}", hint=f"{hint}sizes: {', '.join(self.sizes)}"
        )
