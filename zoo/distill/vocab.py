"""Vocabulary pruning: keep the teacher pieces a language's corpus uses and write a real student tokenizer.

The student tokenizer is the teacher's fast tokenizer (``tokenizer.json``) with a smaller model
vocabulary; normaliser, pre-tokeniser, post-processor and decoder are unchanged. Pieces keep their teacher
order (and, for Unigram, their scores), so student id ``i`` is teacher id ``id_map[i]``.

Why the student then tokenises the corpus exactly like the teacher:

- Unigram (XLM-R, e5): the teacher's Viterbi path for a corpus line uses only kept pieces, so it is
  still in the pruned lattice with the same score, and every other path of the pruned lattice is a path
  of the full one. The one new kind of path is through an ``<unk>`` node for a character whose single-
  character piece was pruned; its score is ``min(score) - 10``, so we also keep the teacher's
  lowest-scored piece: ``<unk>`` then costs what it cost the teacher and can never win.
- WordPiece (BERT): greedy longest match; the piece the teacher chose is kept and nothing longer
  exists in a subset of its vocabulary.

Other models (BPE) would need the merge closure: they raise, and ``prune_vocab=false`` keeps the teacher's
vocabulary instead. :func:`verify_tokenizer` checks the property on real text after every build.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ConfigError, ZooError
from zoo.fileio import write_json_atomic, write_text_atomic

ID_MAP_FILE = "id_map.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
_CONFIG_NOISE = ("is_local", "local_files_only", "name_or_path", "vocab_file", "merges_file")


@dataclass
class PrunedVocab:
    """The student vocabulary: ``id_map[student id] = teacher id`` (increasing, specials included)."""

    id_map: list[int]
    teacher_vocab_size: int
    model_type: str
    corpus_tokens: int = 0

    @property
    def size(self) -> int:
        return len(self.id_map)

    def lookup(self, unk_id: int) -> np.ndarray:
        """Array ``teacher id -> student id``; teacher pieces that were pruned map to ``unk_id``."""
        table = np.full(self.teacher_vocab_size, unk_id, dtype=np.int64)
        table[np.asarray(self.id_map, dtype=np.int64)] = np.arange(self.size, dtype=np.int64)
        return table

    def stats(self) -> dict[str, Any]:
        """Kept pieces and their share of the teacher vocabulary (for distillation.json and reports)."""
        return {
            "model_type": self.model_type,
            "teacher_pieces": self.teacher_vocab_size,
            "kept_pieces": self.size,
            "kept_fraction": round(self.size / self.teacher_vocab_size, 6),
            "corpus_tokens": self.corpus_tokens,
        }


def _tokenizer_json(tokenizer) -> dict[str, Any]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ConfigError(
            f"the teacher tokenizer {type(tokenizer).__name__} has no fast (tokenizers) backend",
            hint="pruning edits tokenizer.json: use a fast tokenizer, or --set prune_vocab=false",
        )
    return json.loads(backend.to_str())


def _model_vocab(model: dict[str, Any]) -> list[str]:
    """Pieces of the tokenizer model in id order."""
    if model["type"] == "Unigram":
        return [p for p, _ in model["vocab"]]
    if model["type"] == "WordPiece":
        return [p for p, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    raise ConfigError(
        f"vocabulary pruning supports Unigram and WordPiece tokenizers, not {model['type']}",
        hint="pass --set prune_vocab=false to keep the teacher's vocabulary",
    )


def prune_vocabulary(tokenizer, used_ids: Iterable[int] | np.ndarray, corpus_tokens: int = 0) -> PrunedVocab:
    """Keep the teacher ids in ``used_ids`` (its tokenisation of the corpus), every special/added token and,
    for Unigram, the lowest-scored piece (see the module docstring)."""
    tj = _tokenizer_json(tokenizer)
    model = tj["model"]
    pieces = _model_vocab(model)
    n_model = len(pieces)
    keep = {int(i) for i in np.unique(np.fromiter(used_ids, dtype=np.int64))}
    keep |= {int(t["id"]) for t in tj.get("added_tokens", [])}
    keep |= {int(i) for i in tokenizer.all_special_ids}
    if model["type"] == "Unigram":
        scores = [s for _, s in model["vocab"]]
        keep.add(int(np.argmin(scores)))
        if model.get("unk_id") is not None:
            keep.add(int(model["unk_id"]))
    elif model.get("unk_token") in model["vocab"]:
        keep.add(int(model["vocab"][model["unk_token"]]))
    teacher_size = max(len(tokenizer), n_model)
    bad = [i for i in keep if not 0 <= i < teacher_size]
    if bad:
        raise ZooError(f"token ids {bad[:5]} are outside the teacher vocabulary ({teacher_size} pieces)")
    return PrunedVocab(sorted(keep), teacher_size, model["type"], corpus_tokens)


def _remap_post_processor(pp: dict[str, Any] | None, remap: dict[int, int]) -> None:
    if pp is None:
        return
    kind = pp.get("type")
    if kind == "Sequence":
        for sub in pp.get("processors", []):
            _remap_post_processor(sub, remap)
    elif kind == "TemplateProcessing":
        for tok in pp.get("special_tokens", {}).values():
            tok["ids"] = [remap[i] for i in tok["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            pp[key] = [pp[key][0], remap[pp[key][1]]]
    elif kind != "ByteLevel":
        raise ConfigError(
            f"vocabulary pruning does not know the post-processor {kind}", hint="pass --set prune_vocab=false"
        )


def pruned_tokenizer_json(tokenizer, vocab: PrunedVocab) -> dict[str, Any]:
    """The teacher's ``tokenizer.json`` with the model vocabulary, added tokens and special ids remapped."""
    tj = _tokenizer_json(tokenizer)
    model = tj["model"]
    pieces = _model_vocab(model)
    remap = {t: s for s, t in enumerate(vocab.id_map)}
    added = {int(t["id"]): t for t in tj.get("added_tokens", [])}
    if model["type"] == "Unigram":
        # an added token past the model vocabulary (XLM-R's <mask>) becomes a model piece with score 0, as in
        # the teacher file (its model vocabulary lists <mask> at the end)
        model["vocab"] = [
            model["vocab"][t] if t < len(pieces) else [added[t]["content"], 0.0] for t in vocab.id_map
        ]
        if model.get("unk_id") is not None:
            model["unk_id"] = remap[int(model["unk_id"])]
    else:
        names = {t: (pieces[t] if t < len(pieces) else added[t]["content"]) for t in vocab.id_map}
        model["vocab"] = {names[t]: remap[t] for t in vocab.id_map}
    for t in tj.get("added_tokens", []):
        t["id"] = remap[int(t["id"])]
    _remap_post_processor(tj.get("post_processor"), remap)
    return tj


def write_student_tokenizer(tokenizer, vocab: PrunedVocab, out_dir: str | os.PathLike) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` (and special tokens map) of the student, plus the
    id map, into ``out_dir``; AutoTokenizer loads the result with no project code."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        for name in _TOKENIZER_FILES:
            src = Path(tmp) / name
            if not src.is_file():
                continue
            data = json.loads(src.read_text(encoding="utf-8"))
            if name == "tokenizer_config.json":
                for key in _CONFIG_NOISE:
                    data.pop(key, None)
                decoder = data.get("added_tokens_decoder")
                if decoder:
                    remap = {t: s for s, t in enumerate(vocab.id_map)}
                    data["added_tokens_decoder"] = {str(remap[int(k)]): v for k, v in decoder.items()}
            elif name == "tokenizer.json":
                data = pruned_tokenizer_json(tokenizer, vocab)
            write_text_atomic(
                out_dir / name,
                json.dumps(data, ensure_ascii=False, indent=None if name == "tokenizer.json" else 2) + "\n",
            )
    write_id_map(vocab, out_dir)


def write_id_map(vocab: PrunedVocab, out_dir: str | os.PathLike) -> Path:
    """Save the id map (student id -> teacher id) as ``id_map.json``."""
    return write_json_atomic(
        Path(out_dir) / ID_MAP_FILE,
        {
            "description": "student token id i is teacher token id teacher_ids[i]",
            **vocab.stats(),
            "teacher_ids": vocab.id_map,
        },
    )


def load_id_map(model_dir: str | os.PathLike) -> PrunedVocab:
    """Read ``id_map.json`` from a student (or run) directory."""
    path = Path(model_dir) / ID_MAP_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ZooError(
            f"{path} not found", hint="is this a student directory written by zoo distill?"
        ) from None
    return PrunedVocab(
        list(data["teacher_ids"]),
        int(data["teacher_pieces"]),
        data["model_type"],
        int(data.get("corpus_tokens", 0)),
    )


def identity_vocab(tokenizer) -> PrunedVocab:
    """No pruning: the student uses the teacher's vocabulary unchanged."""
    return PrunedVocab(list(range(len(tokenizer))), len(tokenizer), "identity")


def verify_tokenizer(teacher_tok, student_tok, vocab: PrunedVocab, texts: Sequence[str]) -> dict[str, int]:
    """Tokenise ``texts`` with both tokenizers; count lines where the student's ids differ from the teacher's
    ids mapped through the id map (expected: none on the corpus the vocabulary was built from)."""
    table = vocab.lookup(student_tok.unk_token_id)
    t_ids = teacher_tok(list(texts), add_special_tokens=True, verbose=False)["input_ids"]
    s_ids = student_tok(list(texts), add_special_tokens=True, verbose=False)["input_ids"]
    mismatches = sum(1 for t, s in zip(t_ids, s_ids, strict=True) if table[np.asarray(t)].tolist() != s)
    return {"lines": len(texts), "mismatched_lines": mismatches}


def coverage(teacher_tok, vocab: PrunedVocab, texts: Sequence[str]) -> float:
    """Share of the teacher's tokens on ``texts`` that the student vocabulary keeps (1.0 = no extra <unk>)."""
    kept = np.zeros(vocab.teacher_vocab_size, dtype=bool)
    kept[np.asarray(vocab.id_map)] = True
    ids = np.concatenate(
        [
            np.asarray(x, dtype=np.int64)
            for x in teacher_tok(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        ]
        or [np.zeros(0, int)]
    )
    return float(kept[ids].mean()) if ids.size else 1.0
