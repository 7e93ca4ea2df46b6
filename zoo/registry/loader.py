"""Loading the registry: language files (``languages/*.yaml``) and task families (``tasks/*.yaml``).

A language file names the teacher (online Hub id and the offline one), the corpus sources, the student
sizes and the evaluation tasks. Each task ``include:``s a task family from ``tasks/<family>.yaml`` (head,
metrics, version, default split roles) and adds its data sources, as lm-eval's task YAML does; it may list
published scores (``reported:``). Every error names the file and field. Both folders ship as package data.
"""

from __future__ import annotations

import dataclasses
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import ConfigError, UsageError, did_you_mean
from zoo.registry.spec import (
    SIZES,
    HubDataset,
    LanguageSpec,
    ReportedScore,
    TaskSpec,
    TeacherRef,
)

LANGUAGES_DIR = Path(__file__).resolve().parent / "languages"
TASK_FAMILIES_DIR = Path(__file__).resolve().parent / "tasks"


# --------------------------------------------------------------------------------------------------
# validation helpers


class _Fields:
    """Reads typed fields out of one YAML mapping, naming file and field path in every error."""

    def __init__(self, data: Any, where: str, source: Path):
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source}: {where or 'top level'} must be a mapping, got {type(data).__name__}"
            )
        self.data, self.where, self.source = data, where, source
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, typ: type | tuple[type, ...], required: bool = True, default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise ConfigError(f"{self.source}: missing required field '{self._path(key)}'")
            return default
        value = self.data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise ConfigError(
                f"{self.source}: field '{self._path(key)}' must be {names}, "
                f"got {type(value).__name__} {value!r}"
            )
        return value

    def sub(self, key: str, required: bool = True) -> _Fields | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Fields(value, self._path(key), self.source)

    def str_list(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self.get(key, list, required=required, default=[])
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(f"{self.source}: field '{self._path(key)}[{i}]' must be str, got {item!r}")
        return tuple(value)

    def str_map(self, key: str, required: bool = True) -> dict[str, str]:
        value = self.get(key, dict, required=required, default={})
        for k, v in value.items():
            if not isinstance(v, str):
                raise ConfigError(f"{self.source}: field '{self._path(key)}.{k}' must be str, got {v!r}")
        return dict(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            allowed = sorted(self.used)
            raise ConfigError(
                f"{self.source}: unknown field '{self._path(unknown[0])}'",
                hint=f"allowed here: {', '.join(allowed)}",
            )


def _teacher(f: _Fields | None) -> TeacherRef:
    assert f is not None
    ref = TeacherRef(
        id=f.get("id", str),
        layer=f.get("layer", int),
        relation_heads=f.get("relation_heads", int),
        revision=f.get("revision", str, required=False),
    )
    f.done()
    if ref.layer < 1 or ref.relation_heads < 1:
        raise ConfigError(f"{f.source}: {f.where}.layer and relation_heads must be positive")
    return ref


def _hub(f: _Fields | None) -> HubDataset | None:
    if f is None:
        return None
    hub = HubDataset(
        id=f.get("id", str),
        config=f.get("config", str, required=False),
        revision=f.get("revision", str, required=False),
        split=f.get("split", str, required=False),
        text_field=f.get("text_field", str, required=False),
    )
    f.done()
    if hub.revision is not None and not _SHA_RE.match(hub.revision):
        raise ConfigError(
            f"{f.source}: field '{f.where}.revision' = {hub.revision!r} is not a commit hash",
            hint="pin Hub datasets to a 40-hex commit (as MTEB does), or leave revision out (unpinned)",
        )
    return hub


_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


def _reported(f: _Fields, metrics: tuple[str, ...]) -> tuple[ReportedScore, ...]:
    """A task's ``reported:`` list, each item checked like any other field (type, unknown key, metric)."""
    scores = []
    for i, item in enumerate(f.get("reported", list, required=False, default=[])):
        r = _Fields(item, f"{f.where}.reported[{i}]", f.source)
        score = ReportedScore(
            model=r.get("model", str), metric=r.get("metric", str), score=r.get("score", float),
            citation=r.get("citation", str), url=r.get("url", str), protocol=r.get("protocol", str),
            note=r.get("note", str, required=False),
        )
        r.done()
        if score.metric not in metrics:
            raise ConfigError(f"{f.source}: field '{r.where}.metric' = '{score.metric}' is not a metric "
                              "of the task", hint=f"metrics: {', '.join(metrics)}")
        if not 0.0 <= score.score <= 100.0:
            raise ConfigError(f"{f.source}: field '{r.where}.score' = {score.score} is not a percentage",
                              hint="write scores in percent (0 to 100), as the task's metrics are")
        if not score.url.startswith(("https://", "http://")):
            raise ConfigError(f"{f.source}: field '{r.where}.url' must be an http(s) address, "
                              f"got {score.url!r}")
        scores.append(score)
    return tuple(scores)


_SPLIT_RE = re.compile(r"^(train|dev|test)(\[(\d{1,2})?%?:(\d{1,2})?%?\])?$")
_SPLIT_ROLES = ("train", "select", "score")


@cache
def load_task_family(name: str) -> dict[str, Any]:
    """The template of a task family, from ``tasks/<name>.yaml``."""
    path = TASK_FAMILIES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in TASK_FAMILIES_DIR.glob("*.yaml"))
        guess = did_you_mean(name, known)
        hint = f"did you mean '{guess}'? " if guess else ""
        raise ConfigError(
            f"no task family '{name}' ({path} not found)", hint=f"{hint}families: {', '.join(known)}"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping")
    return data


def _task(name: str, lang: str, f: _Fields) -> TaskSpec:
    family_name = f.get("include", str)
    template = load_task_family(family_name)
    merged = _Fields({**template, **{k: v for k, v in f.data.items() if k != "include"}}, f.where, f.source)
    splits = merged.str_map("splits")
    local = merged.str_map("local", required=False)
    labels = merged.get("labels", list, required=False)
    metrics = merged.str_list("metrics")
    task = TaskSpec(
        name=name,
        lang=lang,
        family=merged.get("family", str),
        version=merged.get("version", int),
        format=merged.get("format", str),
        head=merged.get("head", str),
        metrics=metrics,
        main_metric=merged.get("main_metric", str),
        splits=splits,
        local=local,
        hub=_hub(merged.sub("hub", required=False)),
        labels=tuple(str(x) for x in labels) if labels else None,
        license=merged.get("license", str, required=False),
        note=merged.get("note", str, required=False),
        metric_note=merged.get("metric_note", str, required=False),
        reported=_reported(merged, metrics),
    )
    merged.done()
    for role in _SPLIT_ROLES:
        if role not in splits:
            raise ConfigError(f"{f.source}: {f.where}.splits needs a '{role}' split")
    for role, spec in splits.items():
        if role not in _SPLIT_ROLES:
            raise ConfigError(
                f"{f.source}: unknown split role '{f.where}.splits.{role}'", hint="train, select, score"
            )
        m = _SPLIT_RE.match(spec)
        if not m:
            raise ConfigError(
                f"{f.source}: {f.where}.splits.{role} = {spec!r} is not a split",
                hint="use train, dev, test or a slice like 'dev[:80%]'",
            )
        if local and m.group(1) not in local:
            raise ConfigError(
                f"{f.source}: {f.where}.splits.{role} uses '{m.group(1)}' but local has no such file"
            )
    if task.main_metric not in task.metrics:
        raise ConfigError(f"{f.source}: {f.where}.main_metric '{task.main_metric}' is not in metrics")
    if not local and task.hub is None:
        raise ConfigError(f"{f.source}: task '{name}' needs 'local' files or a 'hub' dataset")
    return task


def load_language_file(path: Path) -> LanguageSpec:
    """Parse and validate one language YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    top = _Fields(data, "", path)
    code = top.get("code", str)
    if code != path.stem:
        raise ConfigError(f"{path}: code '{code}' must equal the file name '{path.stem}'")
    teacher = top.sub("teacher")
    corpus = top.sub("corpus")
    students = top.sub("students")
    tasks_f = top.sub("tasks", required=False)
    assert teacher and corpus and students
    hub_list = corpus.get("hub", list, required=False, default=[])
    corpus_hub = tuple(_hub(_Fields(h, f"corpus.hub[{i}]", path)) for i, h in enumerate(hub_list))
    sizes = students.str_list("sizes")
    for s in sizes:
        if s not in SIZES:
            raise ConfigError(
                f"{path}: students.sizes has unknown size '{s}'", hint=f"known: {', '.join(SIZES)}"
            )
    recommended = students.get("recommended", str)
    if recommended not in sizes:
        raise ConfigError(f"{path}: students.recommended '{recommended}' is not in students.sizes")
    tasks: dict[str, TaskSpec] = {}
    if tasks_f is not None:
        for name in tasks_f.data:
            tasks_f.used.add(name)
            sub = tasks_f.sub(name)
            assert sub is not None
            tasks[name] = _task(name, code, sub)
    spec = LanguageSpec(
        code=code,
        name=top.get("name", str),
        script=top.get("script", str),
        why=top.get("why", str),
        teacher_online=_teacher(teacher.sub("online")),
        teacher_offline=_teacher(teacher.sub("offline")),
        teacher_why=teacher.get("why", str),
        corpus_local=corpus.str_list("local", required=False),
        corpus_hub=corpus_hub,  # type: ignore[arg-type]
        corpus_why=corpus.get("why", str),
        corpus_license=corpus.get("license", str, required=False),
        sizes=sizes,
        recommended_size=recommended,
        students_why=students.get("why", str),
        tasks=tasks,
        source=path,
    )
    for f in (teacher, corpus, students, top):
        f.done()
    if not spec.corpus_local and not spec.corpus_hub:
        raise ConfigError(f"{path}: corpus needs 'local' globs or 'hub' datasets")
    return spec


@cache
def _load_all(directory: str) -> dict[str, LanguageSpec]:
    specs = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        spec = load_language_file(path)
        specs[spec.code] = spec
    return specs


def languages_dir() -> Path:
    """Where language files are read from: ``ZOO_LANGUAGES_DIR`` or the package's ``zoo/languages``."""
    override = os.environ.get("ZOO_LANGUAGES_DIR")
    return Path(override).expanduser().resolve() if override else LANGUAGES_DIR


def languages(directory: Path | None = None) -> dict[str, LanguageSpec]:
    """All language specs, keyed by ISO code (validated on first load)."""
    directory = directory or languages_dir()
    if not directory.is_dir():
        raise ConfigError(f"language directory {directory} does not exist")
    return dict(_load_all(str(directory)))


def get_language(code: str, directory: Path | None = None) -> LanguageSpec:
    """One language spec; an unknown code raises a UsageError with a did-you-mean and the list."""
    specs = languages(directory)
    if code in specs:
        return specs[code]
    names = {s.name.lower(): c for c, s in specs.items()}
    guess = names.get(code.lower()) or did_you_mean(code, list(specs))
    for c, s in specs.items():
        if guess is None and (code.lower() in s.name.lower() or s.name.lower().startswith(code.lower()[:4])):
            guess = c
    hint = f"did you mean '{guess}'? " if guess else ""
    raise UsageError(f"unknown language '{code}'", hint=f"{hint}known: {', '.join(sorted(specs))}")


def parse_languages(arg: str) -> list[LanguageSpec]:
    """Parse ``--lang xh``, ``--lang xh,af`` or ``--lang all``."""
    if arg == "all":
        return list(languages().values())
    return [get_language(c.strip()) for c in arg.split(",") if c.strip()]


def spec_as_dict(spec: LanguageSpec | TaskSpec) -> dict[str, Any]:
    """A JSON-friendly view of a spec (for ``zoo info --json`` and provenance records)."""
    d = dataclasses.asdict(spec)
    d.pop("source", None)
    return d
