"""The distillation corpus: local text files tokenised once with the TEACHER tokenizer, split, cached.

Lines are split into a training part and a held-out part (a seeded random sample of lines, so no text
is in both), tokenised without truncation and cut into sequences of at most ``max_seq_len`` tokens
(long lines into near-equal chunks), each wrapped in the teacher's special tokens. The result is cached
under ``cache_dir()/distill-data/<key>``, keyed by the tokenizer, the corpus files' sha256, the length and
the split settings, so a rerun (or a second process) loads it instead of tokenising again.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, DatasetDict, Features, Sequence, Value, load_from_disk

from zoo.data.readers import read_corpus
from zoo.errors import DataError
from zoo.fileio import atomic_dir, write_json_atomic
from zoo.paths import cache_dir

FORMAT_VERSION = 2  # 2: meta.json records words per file
_FEATURES = Features({"input_ids": Sequence(Value("int32")), "length": Value("int32"), "idx": Value("int32")})


@dataclass
class CorpusData:
    """Tokenised training and held-out sequences (teacher ids) and what they were built from."""

    train: Dataset
    heldout: Dataset
    used_ids: np.ndarray  # teacher ids occurring in the corpus (both parts, specials excluded)
    meta: dict[str, Any]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenizer_hash(tokenizer) -> str:
    """Content hash of a fast tokenizer (its serialised ``tokenizer.json``)."""
    return hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()


def chunk(ids: list[int], body: int) -> list[list[int]]:
    """Cut ``ids`` into ``ceil(len / body)`` contiguous near-equal pieces (none longer than ``body``)."""
    if not ids:
        return []
    k = math.ceil(len(ids) / body)
    bounds = [round(i * len(ids) / k) for i in range(k + 1)]
    return [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single sequence (``<s>`` and ``</s>`` for XLM-R)."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    raise DataError(f"cannot find where {type(tokenizer).__name__} adds its special tokens")


def _sequences(
    tokenizer, lines: list[str], max_seq_len: int, batch: int = 2000
) -> tuple[list[list[int]], set]:
    prefix, suffix = special_tokens(tokenizer)
    body = max_seq_len - len(prefix) - len(suffix)
    if body < 1:
        raise DataError(f"max_seq_len {max_seq_len} leaves no room for text after the special tokens")
    seqs: list[list[int]] = []
    used: set[int] = set()
    for start in range(0, len(lines), batch):
        for ids in tokenizer(lines[start : start + batch], add_special_tokens=False, verbose=False)[
            "input_ids"
        ]:
            used.update(ids)
            seqs.extend(prefix + c + suffix for c in chunk(ids, body))
    return seqs, used


def _dataset(seqs: list[list[int]]) -> Dataset:
    return Dataset.from_dict(
        {"input_ids": seqs, "length": [len(s) for s in seqs], "idx": list(range(len(seqs)))},
        features=_FEATURES,
    )


def prepare_corpus(
    files: list[Path],
    tokenizer,
    max_seq_len: int,
    heldout_fraction: float,
    heldout_max: int,
    max_lines: int | None = None,
    seed: int = 0,
) -> CorpusData:
    """Tokenise (or load from the cache) the corpus ``files`` with the teacher ``tokenizer``.

    ``heldout_fraction`` of the lines (at most ``heldout_max`` lines and sequences) are held out for the
    relation loss that selects the checkpoint. ``max_lines`` keeps that many evenly spaced lines (smoke runs).
    """
    if not files:
        raise DataError("no corpus files", hint="check the language's corpus.local globs and the data root")
    file_info = [{"path": str(p), "sha256": file_sha256(p)} for p in files]
    settings = {
        "format": FORMAT_VERSION,
        "tokenizer_sha256": tokenizer_hash(tokenizer),
        "files": sorted(f["sha256"] for f in file_info),
        "max_seq_len": max_seq_len,
        "heldout_fraction": heldout_fraction,
        "heldout_max": heldout_max,
        "max_lines": max_lines,
        "seed": seed,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]
    root = cache_dir() / "distill-data" / key
    if not (root / "meta.json").is_file():
        _build(root, files, tokenizer, settings)
    dd = load_from_disk(str(root / "data"))
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    meta["files"] = [
        {**f, "lines": n, "words": w}
        for f, n, w in zip(file_info, meta["lines_per_file"], meta["words_per_file"], strict=True)
    ]
    meta["cache"] = str(root)
    return CorpusData(dd["train"], dd["heldout"], np.load(root / "used_ids.npy"), meta)


def corpus_lines(files: list[Path], max_lines: int | None = None) -> list[str]:
    """The non-empty lines of the corpus files, or ``max_lines`` evenly spaced ones of them."""
    return _evenly_spaced(read_corpus(files)["text"], max_lines)


def _evenly_spaced(lines: list[str], max_lines: int | None) -> list[str]:
    if max_lines and len(lines) > max_lines:
        step = len(lines) / max_lines
        lines = [lines[int(i * step)] for i in range(max_lines)]
    return lines


def _build(root: Path, files: list[Path], tokenizer, settings: dict[str, Any]) -> None:
    per_file = [read_corpus([p])["text"] for p in files]  # each file read once
    lines_per_file = [len(f) for f in per_file]
    words_per_file = [sum(len(line.split()) for line in f) for f in per_file]  # whitespace-separated words
    lines = _evenly_spaced([line for f in per_file for line in f], settings["max_lines"])
    rng = np.random.default_rng(settings["seed"])
    n_held = min(math.ceil(settings["heldout_fraction"] * len(lines)), settings["heldout_max"])
    if n_held < 1 or n_held >= len(lines):
        raise DataError(
            f"the corpus has {len(lines)} lines: too few to hold out {n_held} for the held-out loss"
        )
    held_idx = set(rng.permutation(len(lines))[:n_held].tolist())
    train_lines = [x for i, x in enumerate(lines) if i not in held_idx]
    held_lines = [x for i, x in enumerate(lines) if i in held_idx]
    train, used_t = _sequences(tokenizer, train_lines, settings["max_seq_len"])
    held, used_h = _sequences(tokenizer, held_lines, settings["max_seq_len"])
    held = held[: settings["heldout_max"]]
    used = np.array(sorted(used_t | used_h), dtype=np.int64)
    with atomic_dir(root, overwrite=True) as tmp:
        DatasetDict({"train": _dataset(train), "heldout": _dataset(held)}).save_to_disk(str(tmp / "data"))
        np.save(tmp / "used_ids.npy", used)
        write_json_atomic(
            tmp / "meta.json",
            {
                **settings,
                "lines": len(lines),
                "lines_per_file": lines_per_file,
                "words_per_file": words_per_file,
                "train_lines": len(train_lines),
                "heldout_lines": len(held_lines),
                "train_sequences": len(train),
                "heldout_sequences": len(held),
                "train_tokens": int(sum(len(s) for s in train)),
                "heldout_tokens": int(sum(len(s) for s in held)),
                "corpus_tokens": int(sum(len(s) for s in train) + sum(len(s) for s in held)),
            },
        )
