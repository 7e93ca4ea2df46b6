"""Readers for every local data format, each returning a typed ``datasets.Dataset``.

Formats: CoNLL-U (``conllu``), IOB (``iob``), POS TSV (``pos-tsv``), NLI/RTE JSONL (``nli-jsonl``),
MasakhaNEWS TSV (``news-tsv``) and raw corpus text. Malformed input raises DataError with ``file:line``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from datasets import Dataset, Features, Sequence, Value

from zoo.data.conllu import Sentence, read_conllu
from zoo.errors import DataError

_IOB_TAG = re.compile(r"^(O|[BI]-[^\s]+)$")

UD_FEATURES = Features(
    {
        "sent_id": Value("string"),
        "form": Sequence(Value("string")),
        "lemma": Sequence(Value("string")),
        "upos": Sequence(Value("string")),
        "xpos": Sequence(Value("string")),
        "feats": Sequence(Value("string")),
        "head": Sequence(Value("int32")),
        "deprel": Sequence(Value("string")),
        "index": Value("int32"),
    }
)
TAGGING_FEATURES = Features({"tokens": Sequence(Value("string")), "tags": Sequence(Value("string"))})
PAIR_FEATURES = Features({"premise": Value("string"), "hypothesis": Value("string"), "label": Value("int32")})
TEXT_FEATURES = Features({"text": Value("string"), "label": Value("string")})
CORPUS_FEATURES = Features({"text": Value("string")})


def _open_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    if b"\x00" in data[:65536]:
        raise DataError(f"{path}: looks binary (NUL bytes); expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8") from None


def read_ud(path: str | Path) -> Dataset:
    """A UD treebank as one row per sentence (words only; see ``zoo.data.conllu`` for full fidelity)."""
    return ud_dataset(read_conllu(path))


def ud_dataset(sents: list[Sentence]) -> Dataset:
    """CoNLL-U sentences as one row per sentence, words only (``index``: the sentence's position)."""
    rows: dict[str, list] = {k: [] for k in UD_FEATURES}
    for i, s in enumerate(sents):
        rows["sent_id"].append(s.sent_id or str(i + 1))
        for col in ("form", "lemma", "upos", "xpos", "feats", "deprel"):
            rows[col].append(s.column(col))
        rows["head"].append([int(h) for h in s.column("head")])
        rows["index"].append(i)
    return Dataset.from_dict(rows, features=UD_FEATURES)


def _token_tag_sentences(path: Path, check_iob: bool) -> Iterator[tuple[list[str], list[str]]]:
    text = _open_text(path)
    tokens: list[str] = []
    tags: list[str] = []
    for ln, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if tokens:
                yield tokens, tags
            tokens, tags = [], []
            continue
        parts = line.rstrip("\r").split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise DataError(f"{path}:{ln}: expected 'token<TAB>tag', got {line[:60]!r}")
        token, tag = parts
        if check_iob and not _IOB_TAG.match(tag):
            raise DataError(f"{path}:{ln}: invalid IOB2 tag {tag!r}; expected O, B-TYPE or I-TYPE")
        tokens.append(token)
        tags.append(tag)
    if tokens:
        yield tokens, tags


def read_tagged(path: str | Path, iob: bool) -> Dataset:
    """Token<TAB>tag files (IOB NER when ``iob``, else POS), one row per sentence."""
    path = Path(path)
    rows: dict[str, list] = {"tokens": [], "tags": []}
    for tokens, tags in _token_tag_sentences(path, iob):
        rows["tokens"].append(tokens)
        rows["tags"].append(tags)
    if not rows["tokens"]:
        raise DataError(f"{path}: no sentences found")
    return Dataset.from_dict(rows, features=TAGGING_FEATURES)


def read_pairs(path: str | Path, num_labels: int) -> Dataset:
    """NLI/RTE JSONL: ``{"premise", "hypothesis", "label"}`` with integer labels in ``0..num_labels-1``."""
    path = Path(path)
    rows: dict[str, list] = {"premise": [], "hypothesis": [], "label": []}
    for ln, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{ln}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{ln}: expected a JSON object with premise, hypothesis, label")
        for key in ("premise", "hypothesis"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise DataError(f"{path}:{ln}: '{key}' must be a non-empty string")
        label = obj.get("label")
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < num_labels:
            raise DataError(
                f"{path}:{ln}: label {label!r} out of range; expected an integer 0..{num_labels - 1}"
            )
        rows["premise"].append(obj["premise"])
        rows["hypothesis"].append(obj["hypothesis"])
        rows["label"].append(label)
    if not rows["label"]:
        raise DataError(f"{path}: no pairs found")
    return Dataset.from_dict(rows, features=PAIR_FEATURES)


def read_news(path: str | Path, labels: list[str] | None = None) -> Dataset:
    """MasakhaNEWS TSV (``category, headline, text, url``; quoted multi-line fields): headline + text."""
    path = Path(path)
    text = _open_text(path)
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter="\t")
    need = {"category", "headline", "text"}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise DataError(
            f"{path}:1: header must have columns category, headline, text (got {reader.fieldnames})"
        )
    rows: dict[str, list] = {"text": [], "label": []}
    for row in reader:
        label = (row.get("category") or "").strip()
        if labels is not None and label not in labels:
            raise DataError(f"{path}:{reader.line_num}: unknown category {label!r}; expected one of {labels}")
        body = " ".join((row.get("text") or "").split())
        rows["text"].append(f"{(row.get('headline') or '').strip()}. {body}".strip())
        rows["label"].append(label)
    if not rows["label"]:
        raise DataError(f"{path}: no articles found")
    return Dataset.from_dict(rows, features=TEXT_FEATURES)


def read_news_labels(path: str | Path) -> list[str]:
    """The label list of a MasakhaNEWS folder (``labels.txt``, one per line)."""
    return [x.strip() for x in _open_text(Path(path)).splitlines() if x.strip()]


def read_corpus(paths: list[Path]) -> Dataset:
    """Raw text, one sentence or paragraph per line; empty lines skipped; empty/binary files rejected."""
    lines: list[str] = []
    for path in paths:
        text = _open_text(path)
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        if not kept:
            raise DataError(f"{path}: corpus file is empty", hint="remove it or fix the corpus globs")
        lines.extend(kept)
    if not lines:
        raise DataError(
            "no corpus text found", hint="check the language's corpus.local globs and the data root"
        )
    return Dataset.from_dict({"text": lines}, features=CORPUS_FEATURES)
