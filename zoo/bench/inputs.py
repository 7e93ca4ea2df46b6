"""The measured inputs: real corpus sentences of the language, tokenised into the timed pool and the
agreement-check batches.

:func:`bench_sentences` reads the language's corpus (local files, else its Hub corpora) and shuffles it with a
fixed seed. :func:`make_inputs` tokenises a fixed pool to exactly ``seq_len`` tokens (sentences with at least
that many tokens first, truncated; shorter ones padded only when too few are long enough) and keeps held-out
sentences of natural lengths for the agreement check against the eager fp32 model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.registry import LanguageSpec

SHUFFLE_SEED = 0
POOL_SIZE = 1024  # distinct sentences the timed batches cycle through
CHECK_SENTENCES = 64  # held-out sentences of natural lengths for the agreement check
CHECK_BATCH = 16


def bench_sentences(
    spec: LanguageSpec, limit: int = 16 * POOL_SIZE, seed: int = SHUFFLE_SEED
) -> tuple[list[str], dict[str, Any]]:
    """Real corpus lines of the language, shuffled with a fixed seed (at most ``limit``), and where from."""
    from zoo.data.corpus import corpus_files
    from zoo.data.readers import read_corpus

    files, _ = corpus_files(spec)  # local files, else the language's Hub corpora
    texts = read_corpus(files)["text"]
    order = np.random.default_rng(seed).permutation(len(texts))[:limit]
    return [texts[i] for i in order], {
        "files": [str(p) for p in files],
        "lines": len(texts),
        "shuffle_seed": seed,
    }


@dataclass
class BenchInputs:
    """Token ids of the timed pool (exactly ``seq_len`` wide) and of the agreement-check batches."""

    ids: np.ndarray
    mask: np.ndarray
    texts: list[str]
    check: list[dict[str, np.ndarray]]
    info: dict[str, Any]

    def batches(self, batch_size: int, n_max: int = 64) -> list[dict[str, np.ndarray]]:
        """Up to ``n_max`` distinct batches of ``batch_size`` consecutive pool rows (wrapping around)."""
        n = len(self.ids)
        count = max(1, min(n_max, n // batch_size))
        out = []
        for i in range(count):
            rows = np.arange(i * batch_size, (i + 1) * batch_size) % n
            out.append(
                {
                    "input_ids": np.ascontiguousarray(self.ids[rows]),
                    "attention_mask": np.ascontiguousarray(self.mask[rows]),
                }
            )
        return out

    def text_batches(self, batch_size: int, n_max: int = 64) -> list[list[str]]:
        n = len(self.texts)
        count = max(1, min(n_max, n // batch_size))
        return [
            [self.texts[j % n] for j in range(i * batch_size, (i + 1) * batch_size)] for i in range(count)
        ]


def _fold(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, int]:
    """Map ids beyond a (random-weight) model's vocabulary into it; returns the ids and how many moved."""
    over = ids >= vocab_size
    return np.where(over, ids % vocab_size, ids), int(over.sum())


def make_inputs(
    tokenizer, texts: list[str], seq_len: int, vocab_size: int, pool_size: int = POOL_SIZE
) -> BenchInputs:
    """Tokenise ``texts``: the timed pool (full-length sentences first) and the check batches."""
    check_texts = texts[-CHECK_SENTENCES:]
    candidates = texts[:-CHECK_SENTENCES] if len(texts) > 2 * CHECK_SENTENCES else texts
    enc = tokenizer(
        candidates, truncation=True, max_length=seq_len, padding="max_length", return_tensors="np"
    )
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    if ids.shape[1] != seq_len:
        raise ZooError(f"tokenizer returned width {ids.shape[1]} instead of {seq_len}")
    full = mask.sum(1) == seq_len
    order = np.concatenate([np.flatnonzero(full), np.flatnonzero(~full)])[:pool_size]
    ids, mask = ids[order], mask[order]
    ids, folded = _fold(ids, vocab_size)
    check = []
    for i in range(0, len(check_texts), CHECK_BATCH):
        e = tokenizer(
            check_texts[i : i + CHECK_BATCH],
            truncation=True,
            max_length=seq_len,
            padding=True,
            return_tensors="np",
        )
        c_ids, f = _fold(e["input_ids"].astype(np.int64), vocab_size)
        folded += f
        check.append({"input_ids": c_ids, "attention_mask": e["attention_mask"].astype(np.int64)})
    info = {
        "pool_sentences": len(order),
        "full_length_fraction": round(float(full[order].mean()), 4),
        "real_tokens_per_sentence": round(float(mask.sum(1).mean()), 2),
        "check_sentences": len(check_texts),
        "ids_folded_into_vocab": folded,
    }
    return BenchInputs(ids=ids, mask=mask, texts=[candidates[i] for i in order], check=check, info=info)
