"""Fine-tuning on the task's embedding rows only gives the predictions of the full model."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from datasets import Dataset
from transformers import BertConfig, BertForTokenClassification

from zoo.evaluation.finetune import fit
from zoo.evaluation.heads import dataset_training, predict_rows
from zoo.evaluation.presets import PRESETS
from zoo.evaluation.task_vocab import compact_embeddings, used_ids

PAD = 1  # XLM-R's padding id: ids 0 and 1 must keep their places


def _data(seed: int, n: int, vocab_used: list[int]) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = [[0] + rng.choice(vocab_used, size=int(rng.integers(3, 9))).tolist() + [2] for _ in range(n)]
    labels = [[-100] + rng.integers(0, 3, size=len(r) - 2).tolist() + [-100] for r in rows]
    return Dataset.from_dict(
        {"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows], "labels": labels}
    )


def _model() -> BertForTokenClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=500,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=3,
        pad_token_id=PAD,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForTokenClassification(config)


def _collate(rows):
    width = max(len(r["input_ids"]) for r in rows)
    out = {"input_ids": [], "attention_mask": [], "labels": []}
    for r in rows:
        pad = width - len(r["input_ids"])
        out["input_ids"].append(r["input_ids"] + [PAD] * pad)
        out["attention_mask"].append(r["attention_mask"] + [0] * pad)
        out["labels"].append(r.get("labels", [-100] * len(r["input_ids"])) + [-100] * pad)
    return {k: torch.tensor(v) for k, v in out.items()}


def test_compacted_model_trains_and_predicts_like_the_full_one():
    used = list(range(40, 90))  # the task uses 50 of 500 rows
    train, test = _data(0, 24, used), _data(1, 8, used)
    preset = dataclasses.replace(PRESETS["smoke"], max_epochs=2, batch_size=4, bf16="off")

    full = _model()
    fit(full, dataset_training(train, _collate, lambda m: 0.0), preset, seed=0)
    expected = predict_rows(full, test.remove_columns("labels"), _collate, 8)

    kept = sorted({0, 1} | {i for d in (train, test) for row in d["input_ids"] for i in row})
    assert 40 < len(kept) < 60  # ids 0..PAD, <s>/</s> and the ~50 used ids
    small = _model()
    (train_c, test_c), rows = compact_embeddings(small, [train, test], PAD)
    assert rows == {"model": 500, "kept": len(kept)}
    assert small.get_input_embeddings().num_embeddings == len(kept)
    assert used_ids([train_c, test_c]) == set(range(len(kept))) - {1}
    assert train_c[0]["input_ids"][0] == 0 and train_c["labels"] == train["labels"]
    fit(small, dataset_training(train_c, _collate, lambda m: 0.0), preset, seed=0)
    got = predict_rows(small, test_c.remove_columns("labels"), _collate, 8)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # the rows that were kept hold the full model's trained values
    torch.testing.assert_close(small.get_input_embeddings().weight, full.get_input_embeddings().weight[kept])


def test_nothing_changes_when_the_task_uses_most_rows():
    model = _model()
    data = _data(0, 200, list(range(3, 500)))
    out, rows = compact_embeddings(model, [data], PAD)
    assert rows == {"model": 500, "kept": 500} and out[0] is data
    assert model.get_input_embeddings().num_embeddings == 500


def test_ids_are_remapped_in_order_and_padding_keeps_its_id():
    used = [7, 300]
    data = _data(2, 4, used)
    model = _model()
    (out,), _ = compact_embeddings(model, [data], PAD)
    assert sorted(used_ids([out])) == [0, 2, 3, 4]  # <s>, 7 -> 3 and 300 -> 4 after 0, 1 (pad), 2 (</s>)
