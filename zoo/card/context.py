"""The facts a card shows about its student: the directory, its config, and its ``distillation.json``.

The distillation record is the typed :class:`~zoo.distill.record.DistillationRecord` its writer uses, so
the card reads exactly the fields ``zoo distill`` writes.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.distill.record import DistillationRecord
from zoo.errors import UsageError, ZooError
from zoo.models import student_dir, student_id
from zoo.registry import SIZES, LanguageSpec, get_language
from zoo.teachers import content_revision


def read_distillation(path: Path) -> DistillationRecord | None:
    """A student's ``distillation.json`` as the typed record (None when the file is absent)."""
    return DistillationRecord.read(path) if path.is_file() else None


@dataclass
class Student:
    """A student directory and what identifies it."""

    spec: LanguageSpec
    size: str
    path: Path
    revision: str
    config: dict[str, Any]
    distillation: DistillationRecord | None

    @property
    def model_id(self) -> str:
        return student_id(self.spec.code, self.size)

    @property
    def recommended(self) -> bool:
        return self.size == self.spec.recommended_size

    @property
    def teacher(self) -> tuple[str, str | None]:
        """(id, revision) of the teacher it was distilled from; not recorded: the language's offline one."""
        if self.distillation is None:
            return self.spec.teacher_offline.id, None
        return self.distillation.teacher.id, self.distillation.teacher.revision

    @property
    def corpus_files(self) -> list[str]:
        """Names of the distillation corpus files (empty when not recorded)."""
        return [Path(f.path).name for f in (self.distillation.corpus.files if self.distillation else [])]

    @property
    def has_pooler(self) -> bool:
        """Whether the checkpoint holds pooler weights (students distilled before the pooler was dropped)."""
        return any(name.startswith("pooler.") for name in safetensors_header(self.path))

    def params(self) -> dict[str, int]:
        """Parameter counts (total / embedding / encoder): recorded, else read from the safetensors header."""
        if self.distillation is not None:
            return self.distillation.student.params.model_dump()
        return safetensors_params(self.path)


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


def safetensors_header(path: Path) -> dict[str, Any]:
    """Tensor name -> header entry (dtype, shape) of every ``model*.safetensors`` of ``path`` (no weights
    loaded)."""
    out: dict[str, Any] = {}
    for f in sorted(path.glob("model*.safetensors")):
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        out.update({k: v for k, v in header.items() if k != "__metadata__"})
    return out


def safetensors_params(path: Path) -> dict[str, int]:
    """Parameter counts read from the safetensors header (no weights loaded)."""
    total = emb = 0
    for name, info in safetensors_header(path).items():
        count = 1
        for d in info["shape"]:
            count *= d
        total += count
        if "embeddings." in name:
            emb += count
    return {"total": total, "embedding": emb, "encoder": total - emb}
