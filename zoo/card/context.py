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


def _num(x: Any) -> Any:
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def read_distillation(path: Path) -> Distillation | None:
    """The card's view of ``path`` (a ``distillation.json``); None when the file is absent or empty."""
    if not path.is_file():
        return None
    d = _read_json(path, "distillation.json")
    if not d:
        return None
    teacher, vocab, training = d.get("teacher") or {}, d.get("vocab") or {}, d.get("training") or {}
    env, preset = d.get("environment") or {}, d.get("preset") or {}
    params = (d.get("student") or {}).get("params") or {}
    files = [f for f in (d.get("corpus") or {}).get("files") or [] if isinstance(f, dict)]
    return Distillation(
        teacher_id=teacher.get("id"),
        teacher_revision=teacher.get("revision"),
        teacher_layer=teacher.get("layer"),
        relation_heads=teacher.get("relation_heads"),
        relations=list((d.get("loss") or {}).get("relations") or []),
        corpus_files=[
            CorpusFile(
                str(f["path"]) if f.get("path") else None,
                f.get("sha256"),
                _num(f.get("lines")),
                _num(f.get("words")),
            )
            for f in files
        ],
        vocab_teacher_pieces=_num(vocab.get("teacher_pieces")),
        vocab_kept_pieces=_num(vocab.get("kept_pieces")),
        vocab_kept_fraction=_num(vocab.get("kept_fraction")),
        params={k: params[k] for k in ("total", "embedding", "encoder") if _num(params.get(k)) is not None},
        steps=_num(training.get("steps")),
        tokens_seen=_num(training.get("tokens_seen")),
        best_step=_num(training.get("best_step")),
        heldout_loss_at_step_0=_num(training.get("heldout_loss_at_step_0")),
        best_heldout_loss=_num(training.get("best_heldout_loss")),
        heldout_loss_curve=[
            (p[0], p[1])
            for p in training.get("heldout_loss_curve") or []
            if isinstance(p, (list, tuple)) and len(p) == 2 and None not in (_num(p[0]), _num(p[1]))
        ],
        wall_time_s=_num(training.get("wall_time_s")),
        preset=preset.get("name"),
        preset_overrides=dict(preset.get("overrides") or {}),
        hardware={k: env[k] for k in ("cpu", "cpu_count", "device", "torch_threads") if k in env},
        libraries=dict(env.get("libraries") or {}),
        date=d.get("date"),
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
