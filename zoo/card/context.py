"""The facts a card shows about its student: the directory, its config, and its ``distillation.json``.

:func:`read_distillation` is the one place that reads ``distillation.json`` for the card, with the key names
that :func:`zoo.distill.run.distill` writes (``time-zoo/distillation@1``). Everything else reads the
:class:`Distillation` it returns.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError
from zoo.models import student_dir, student_id
from zoo.registry import SIZES, LanguageSpec, get_language
from zoo.teachers import content_revision


@dataclass(frozen=True)
class CorpusFile:
    """One distillation corpus file as ``distillation.json`` lists it."""

    path: str | None
    sha256: str | None = None
    lines: int | None = None
    words: int | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "?"


@dataclass(frozen=True)
class Distillation:
    """What a card shows of a student's ``distillation.json`` (None: not recorded)."""

    teacher_id: str | None = None
    teacher_revision: str | None = None
    teacher_layer: int | None = None
    relation_heads: int | None = None
    relations: list[str] = field(default_factory=list)
    corpus_files: list[CorpusFile] = field(default_factory=list)
    vocab_teacher_pieces: int | None = None
    vocab_kept_pieces: int | None = None
    vocab_kept_fraction: float | None = None
    params: dict[str, int] = field(default_factory=dict)  # total / embedding / encoder
    steps: int | None = None
    tokens_seen: int | None = None
    best_step: int | None = None
    heldout_loss_at_step_0: float | None = None
    best_heldout_loss: float | None = None
    heldout_loss_curve: list[tuple[int, float]] = field(default_factory=list)
    wall_time_s: float | None = None
    preset: str | None = None
    preset_overrides: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)  # cpu, cpu_count, device, torch_threads
    libraries: dict[str, str] = field(default_factory=dict)
    date: str | None = None


def read_distillation(path: Path) -> Distillation | None:
    """The card's view of ``path`` (a ``distillation.json``, read as the typed
    :class:`~zoo.distill.record.DistillationRecord`); None when the file is absent."""
    from zoo.distill.record import DistillationRecord

    if not path.is_file():
        return None
    d = DistillationRecord.read(path)
    t, env = d.training, d.environment
    return Distillation(
        teacher_id=d.teacher.id,
        teacher_revision=d.teacher.revision,
        teacher_layer=d.teacher.layer,
        relation_heads=d.teacher.relation_heads,
        relations=list(d.loss.relations),
        corpus_files=[CorpusFile(f.path, f.sha256, f.lines, f.words) for f in d.corpus.files],
        vocab_teacher_pieces=d.vocab.teacher_pieces,
        vocab_kept_pieces=d.vocab.kept_pieces,
        vocab_kept_fraction=d.vocab.kept_fraction,
        params=d.student.params.model_dump(),
        steps=t.steps,
        tokens_seen=t.tokens_seen,
        best_step=t.best_step,
        heldout_loss_at_step_0=t.heldout_loss_at_step_0,
        best_heldout_loss=t.best_heldout_loss,
        heldout_loss_curve=[(step, loss) for step, loss in t.heldout_loss_curve],
        wall_time_s=t.wall_time_s,
        preset=d.preset.name,
        preset_overrides=dict(d.preset.overrides),
        hardware={"cpu": env.cpu, "cpu_count": env.cpu_count, "device": env.device,
                  "torch_threads": env.torch_threads},
        libraries=dict(env.libraries),
        date=d.date,
    )


@dataclass
class Student:
    """A student directory and what identifies it."""

    spec: LanguageSpec
    size: str
    path: Path
    revision: str
    config: dict[str, Any]
    distillation: Distillation | None

    @property
    def model_id(self) -> str:
        return student_id(self.spec.code, self.size)

    @property
    def recommended(self) -> bool:
        return self.size == self.spec.recommended_size

    @property
    def teacher(self) -> tuple[str, str | None]:
        """(id, revision) of the teacher it was distilled from; not recorded: the language's offline one."""
        d = self.distillation or Distillation()
        return str(d.teacher_id or self.spec.teacher_offline.id), d.teacher_revision

    @property
    def corpus_files(self) -> list[str]:
        """Names of the distillation corpus files (empty when not recorded)."""
        return [f.name for f in (self.distillation.corpus_files if self.distillation else []) if f.path]

    def params(self) -> dict[str, int]:
        """Parameter counts (total / embedding / encoder): recorded, else read from the safetensors header."""
        recorded = self.distillation.params if self.distillation else {}
        return recorded if len(recorded) == 3 else safetensors_params(self.path)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ZooError(f"{path}: {what} is not valid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(data, dict):
        raise ZooError(f"{path}: {what} must be a JSON object")
    return data


def _size_from_config(config: dict[str, Any]) -> str | None:
    for name, shape in SIZES.items():
        got = (config.get("num_hidden_layers"), config.get("hidden_size"), config.get("num_attention_heads"))
        if got == (shape.layers, shape.hidden, shape.heads):
            return name
    return None


def locate_student(lang: str, size: str | None = None, model_dir: str | Path | None = None) -> Student:
    """The student of ``lang`` (``--size``, default the recommended one) or the directory ``--model``."""
    spec = get_language(lang)
    if model_dir is not None:
        path = Path(model_dir).expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"--model {model_dir}: no such directory")
    else:
        size = size or spec.recommended_size
        spec.size(size)
        path = student_dir(spec.code, size)
    if not (path / "config.json").is_file():
        hint = (
            f"run: zoo distill --lang {spec.code} --size {size}"
            if model_dir is None
            else "is it a student dir?"
        )
        raise UsageError(f"no student at {path} (config.json missing)", hint=hint)
    if not any(path.glob("model*.safetensors")):
        raise UsageError(
            f"no weights in {path} (model.safetensors missing)", hint="was the distillation finished?"
        )
    config = _read_json(path / "config.json", "config.json")
    if size is None:
        size = _size_from_config(config)
        if size is None:
            raise UsageError(
                f"{path}: its shape matches no student size", hint=f"pass --size ({', '.join(spec.sizes)})"
            )
    spec.size(size)
    distillation = read_distillation(path / "distillation.json")
    return Student(spec, size, path, content_revision(path), config, distillation)


def repo_ids(spec: LanguageSpec, size: str, org: str = "time") -> list[str]:
    """Hub repos of a student: ``org/time-xh-xs``, and ``org/time-xh`` first when xs is recommended."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", org):
        raise UsageError(f"--org {org!r} is not a valid Hub namespace")
    ids = [f"{org}/{student_id(spec.code, size)}"]
    if size == spec.recommended_size:
        ids.insert(0, f"{org}/time-{spec.code}")
    return ids


def safetensors_params(path: Path) -> dict[str, int]:
    """Parameter counts read from the safetensors header (no weights loaded)."""
    total = emb = 0
    for f in sorted(path.glob("model*.safetensors")):
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for d in info["shape"]:
                count *= d
            total += count
            if "embeddings." in name:
                emb += count
    return {"total": total, "embedding": emb, "encoder": total - emb}
