"""Encoders with a transformers task head (tagging, sentence classification): load, train inputs, predict.

:func:`load_head_model` puts a fresh ``AutoModelFor...`` head on any encoder :class:`~zoo.models.ModelRef`
resolves; :func:`dataset_training` hands a tokenised ``datasets.Dataset`` and its collator to the one
fine-tuning loop (:func:`zoo.evaluation.finetune.fit`); :func:`predict_rows` predicts without gradients in
batches of rows sorted by length (little padding, :func:`map_length_batches`) and hands the rows back in
their original order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from zoo.errors import ZooError
from zoo.evaluation.finetune import HeadTraining, autocast
from zoo.models import ModelRef


def load_tokenizer(ref: ModelRef):
    """The model's fast tokenizer (word tasks need ``word_ids``), with a padding token."""
    try:
        tok = ref.load_tokenizer()
    except (OSError, ValueError) as e:
        raise ZooError(f"could not load the tokenizer of {ref.id}: {e}") from None
    if not tok.is_fast:
        raise ZooError(f"{ref.id}: a fast tokenizer (tokenizer.json) is needed to align words and sub-words")
    if tok.pad_token is None:
        raise ZooError(f"{ref.id}: the tokenizer has no padding token")
    return tok


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports and progress bars ("newly initialized head weights" is expected)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_head_model(ref: ModelRef, auto_cls, labels: list[str], seed: int):
    """The encoder of ``ref`` with a fresh task head of ``auto_cls`` (e.g. AutoModelForTokenClassification).

    Pretrained weights are loaded where ``ref`` has them; random baselines are built from their config.
    The head (and a random encoder) is initialised from ``seed``, and training's dropout follows from it.
    """
    import torch

    id2label = dict(enumerate(labels))
    label2id = {lab: i for i, lab in enumerate(labels)}
    torch.manual_seed(seed)
    try:
        with quiet_transformers():
            if ref.path and not ref.config_from and ref.config is None:
                return auto_cls.from_pretrained(
                    ref.path, num_labels=len(labels), id2label=id2label, label2id=label2id
                )
            config = ref.load_config()
            config.num_labels, config.id2label, config.label2id = len(labels), id2label, label2id
            return auto_cls.from_config(config)
    except (OSError, ValueError, KeyError) as e:
        raise ZooError(f"could not load {ref.id} with a {auto_cls.__name__} head: {e}") from None


def dataset_training(
    dataset, collator, select_score: Callable[[Any], float], label: str = ""
) -> HeadTraining:
    """A tokenised split (model inputs and ``labels``) as the loop's training inputs: rows collated by
    ``collator``; the loss is the head's own (``output.loss``), weight decay as HF Trainer applies it."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return HeadTraining(
        lengths=lengths,
        collate=lambda idx: dict(collator([dataset[i] for i in idx])),
        select_score=select_score,
        label=label,
    )


def map_length_batches(
    lengths: list[int], batch_size: int, run: Callable[[list[int]], list[Any]]
) -> list[Any]:
    """``run(indices)`` (one output per index) over batches of rows sorted by length; the outputs in row
    order, checked to be one per row."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    out: list[Any] = [None] * len(lengths)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        for i, value in zip(idx, run(idx), strict=True):
            out[i] = value
    missing = [i for i, x in enumerate(out) if x is None]
    if missing:
        raise AssertionError(f"prediction misaligned: rows {missing[:5]} got no logits")
    return out


def predict_rows(model, dataset, collator, batch_size: int, bf16: bool = False) -> list[Any]:
    """Logits of every row of ``dataset`` (numpy, ``[row length, ...]`` for token heads), in row order.

    Rows are batched by length (sorted) so batches carry little padding; the result is put back in the
    dataset's order and checked to have one entry per row. ``bf16``: under bf16 autocast (an enclosing
    autocast, as during selection, applies either way).
    """
    import torch

    device = next(model.parameters()).device
    lengths = [len(ids) for ids in dataset["input_ids"]]

    def run(idx: list[int]) -> list[Any]:
        batch = {k: v.to(device) for k, v in collator([dataset[i] for i in idx]).items() if k != "labels"}
        logits = model(**batch).logits.float().cpu().numpy()
        token_level = logits.ndim == 3
        return [logits[r, : lengths[i]] if token_level else logits[r] for r, i in enumerate(idx)]

    model.eval()
    with torch.inference_mode(), autocast(device, bf16):
        return map_length_batches(lengths, batch_size, run)
