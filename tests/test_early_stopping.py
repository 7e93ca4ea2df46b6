"""Early stopping of the fine-tuning recipe: patience counts only once the select score has left its start."""

from __future__ import annotations

import pytest

from zoo.evaluation.finetune import fit, should_stop
from zoo.evaluation.heads import dataset_training
from zoo.evaluation.presets import get_preset


def curve(*scores: float) -> dict[int, float]:
    return {epoch: s for epoch, s in enumerate(scores, start=1)}


@pytest.mark.parametrize(
    ("scores", "patience", "stop"),
    [
        ((0.0, 0.0, 0.0, 0.0, 0.0), 2, False),  # NER head at "O" everywhere: a flat start is not a plateau
        ((0.0, 0.0, 0.0, 0.0, 0.3), 2, False),  # it has just left the start: best is the last epoch
        ((0.0, 0.0, 0.3, 0.2), 2, False),  # 1 epoch since the best
        ((0.0, 0.0, 0.3, 0.2, 0.3), 2, True),  # 2 epochs since the best (an equal score is no new best)
        ((0.5, 0.6, 0.6, 0.7), 2, False),
        ((0.5, 0.6, 0.6, 0.6), 2, True),
        ((0.5, 0.4, 0.3, 0.2), 2, False),  # never above the first epoch: runs to max_epochs
        ((33.3, 33.3, 33.3, 35.0, 34.0, 33.3, 33.3), 3, True),
        ((33.3, 33.3, 33.3, 35.0, 34.0, 33.3), 3, False),
    ],
)
def test_should_stop(scores, patience, stop):
    assert should_stop(curve(*scores), patience) is stop


def test_fit_waits_for_a_flat_start_to_end():
    """A real (tiny) model in the loop: the score is 0 for 3 epochs, rises at 4, then falls for `patience`."""
    import torch
    from datasets import Dataset
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    train = Dataset.from_dict(
        {"input_ids": [[1, 2 + i % 5, 3] for i in range(8)], "labels": [i % 2 for i in range(8)]}
    )

    def collate(rows):
        return {
            "input_ids": torch.tensor([r["input_ids"] for r in rows]),
            "labels": torch.tensor([r["labels"] for r in rows]),
        }

    select_scores = iter([0.0, 0.0, 0.0, 0.4, 0.3, 0.2, 0.9, 0.9])
    weights_at: dict[int, torch.Tensor] = {}

    def select_score(m) -> float:
        weights_at[len(weights_at) + 1] = m.classifier.weight.detach().clone()
        return next(select_scores)

    preset = get_preset("quick").override(max_epochs=8, patience=2, batch_size=4)
    result = fit(model, dataset_training(train, collate, select_score), preset, seed=0)
    assert result.curve == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.4, 5: 0.3, 6: 0.2}
    assert (result.best_epoch, result.epochs_run, result.stopped_early) == (4, 6, True)
    assert result.converged
    assert torch.equal(model.classifier.weight, weights_at[4])  # the best epoch's weights are back
    assert not torch.equal(weights_at[4], weights_at[6])
