"""Typed JSON records: one pydantic model per record kind, shared by the record's writer and its readers.

Every record the zoo writes (``distillation.json``, result records, bench records, the run manifest, the
leaderboard JSON) is a :class:`Record` subclass. Writers build the model (validated: an unknown or mistyped
field is an error at write time) and save it atomically; readers load it back into the same model and read
attributes, so a reader cannot ask for a field no writer sets. Each kind's JSON Schema is kept as a file in
``zoo/schemas/`` (``python -m zoo.schema --write`` regenerates them; a test fails when one is stale).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

from zoo.errors import ZooError
from zoo.fileio import write_json_atomic

SCHEMA_DIR = Path(__file__).parent / "schemas"

R = TypeVar("R", bound="Record")

# Every record kind, as "module:Class"; `python -m zoo.schema --write` writes their schema files.
RECORD_KINDS: list[str] = [
    "zoo.distill.record:DistillationRecord",
    "zoo.results.record:ResultRecord",
    "zoo.bench.record:BenchRecord",
    "zoo.manifest:RunManifest",
    "zoo.leaderboard.schema:Leaderboard",
]


class Part(BaseModel):
    """A typed part of a record (nested object); unknown fields are errors. Optional fields are written only
    when given (a field set to None explicitly is kept), so a record read and written again keeps its keys."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    @model_serializer(mode="wrap")
    def _only_given(self, handler: Callable[[Any], dict[str, Any]]):  # no return type: keeps the schema
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None or k in self.model_fields_set}


class Record(Part):
    """A whole JSON record file. ``SCHEMA_NAME`` names its schema file ``zoo/schemas/<name>.schema.json``."""

    SCHEMA_NAME: ClassVar[str] = ""

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any], source: str | os.PathLike = "<record>") -> R:
        """Validate ``data``; errors name the source and the first bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ZooError(
                f"{source}: not a valid {cls.SCHEMA_NAME or cls.__name__} record: {where}: {first['msg']}"
                + (f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""),
                hint=f"the schema is zoo/schemas/{cls.SCHEMA_NAME}.schema.json; rewrite the file with the "
                "command that made it",
            ) from None

    @classmethod
    def read(cls: type[R], path: str | os.PathLike) -> R:
        """Load and validate the record at ``path``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ZooError(f"{path} does not exist") from None
        except json.JSONDecodeError as e:
            raise ZooError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None
        return cls.from_json(data, source=path)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to disk."""
        return self.model_dump(mode="json")

    def write(self, path: str | os.PathLike) -> Path:
        """Write atomically (temp file + rename)."""
        return write_json_atomic(path, self.to_json())

    @classmethod
    def schema_file(cls) -> Path:
        return SCHEMA_DIR / f"{cls.SCHEMA_NAME}.schema.json"

    @classmethod
    def schema_text(cls) -> str:
        schema = cls.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def record_kinds() -> list[type[Record]]:
    """Every registered record class (imported from ``RECORD_KINDS``)."""
    kinds = []
    for ref in RECORD_KINDS:
        module, name = ref.split(":")
        kinds.append(getattr(importlib.import_module(module), name))
    return kinds


def main(argv: list[str] | None = None) -> int:
    """``python -m zoo.schema [--write]``: check (or rewrite) every schema file; exit 1 when one is stale."""
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for kind in record_kinds():
        text = kind.schema_text()
        path = kind.schema_file()
        if "--write" in argv:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    for path in stale:
        print(f"stale: {path} (run python -m zoo.schema --write)")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
