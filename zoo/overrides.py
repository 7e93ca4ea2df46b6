"""``--set FIELD=VALUE``: one parser and one typed override for every preset (distillation and evaluation).

Preset dataclasses are plain ``@dataclass``es; a value given as text is converted to the field's annotated
type (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``tuple[float, ...]``, and unions such as
``X | None`` or ``bool | Literal["auto"]``). Unknown fields and values of the wrong type are usage errors
that name the field (with a did-you-mean).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar, get_type_hints

from zoo.errors import UsageError, did_you_mean

P = TypeVar("P")


def parse_sets(items: Iterable[str] | None) -> dict[str, str]:
    """``["max_steps=200", "bf16=true"]`` -> ``{"max_steps": "200", "bf16": "true"}``."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected FIELD=VALUE, e.g. --set max_epochs=30")
        out[key.strip()] = value.strip()
    return out


def coerce(field: str, typ: Any, raw: str) -> Any:
    """``raw`` (text from the command line) as a value of the annotated type ``typ``; a union tries its
    members in order (``bool | Literal["auto"]``: ``true`` is True, ``auto`` is "auto")."""
    union = typing.get_origin(typ) in (typing.Union, types.UnionType)
    args = typing.get_args(typ) if union else ()
    optional = type(None) in args
    members = [a for a in args if a is not type(None)] or [typ]
    text = raw.strip()
    if optional and text.lower() in ("none", "null", ""):
        return None
    for base in members:
        try:
            return _convert(field, base, text)
        except ValueError:
            continue
    raise UsageError(f"--set {field}={raw}: expected {' or '.join(_type_name(m) for m in members)}")


def _convert(field: str, base: Any, text: str) -> Any:
    """``text`` as a ``base`` value; ValueError when it is not one."""
    if typing.get_origin(base) is tuple:
        (item, *_) = typing.get_args(base) or (str,)
        return tuple(coerce(field, item, x) for x in text.split(",") if x.strip())
    if typing.get_origin(base) is typing.Literal:
        if text in typing.get_args(base):
            return text
        raise ValueError(text)
    if base is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if base is int:
        return int(text.replace("_", ""))
    if base is float:
        return float(text)
    return text


def _type_name(t: Any) -> str:
    if typing.get_origin(t) is typing.Literal:
        return " or ".join(repr(v) for v in typing.get_args(t))
    return getattr(t, "__name__", str(t))


def apply_overrides(preset: P, overrides: dict[str, Any] | None, fixed: tuple[str, ...] = ("name",)) -> P:
    """A copy of the dataclass ``preset`` with ``overrides`` (text values converted to the field types)."""
    hints = get_type_hints(type(preset))
    fields = {f.name for f in dataclasses.fields(preset)} - set(fixed)  # type: ignore[arg-type]
    values = {}
    for key, value in (overrides or {}).items():
        if key not in fields:
            guess = did_you_mean(key, sorted(fields))
            hint = f"did you mean '{guess}'? " if guess else ""
            what = "cannot be changed" if key in fixed else "is not a preset field"
            raise UsageError(f"--set {key}: {what}", hint=f"{hint}fields: {', '.join(sorted(fields))}")
        values[key] = coerce(key, hints[key], value) if isinstance(value, str) else value
    return dataclasses.replace(preset, **values)  # type: ignore[type-var]
