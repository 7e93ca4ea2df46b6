"""Sentence tasks: NLI / RTE pairs and MasakhaNEWS topics, classified from the pooled representation.

The head is the encoder family's own sequence-classification head (``AutoModelForSequenceClassification``:
for BERT the pooler over ``[CLS]`` then a linear layer, for RoBERTa/XLM-R a dense layer over ``<s>``).
Pairs are encoded as ``premise [SEP] hypothesis``; news as ``headline. text``. Both are truncated to
``preset.max_length`` sub-words (for pairs the longer side is cut first). Scores: accuracy and macro-F1.
"""

from __future__ import annotations

import time
from pathlib import Path

from zoo.errors import DataError
from zoo.evaluation import metrics
from zoo.evaluation.finetune import fit, fit_details
from zoo.evaluation.heads import dataset_training, load_head_model, load_tokenizer, predict_rows
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.splits import load_task_splits
from zoo.evaluation.task_vocab import compact_embeddings
from zoo.evaluation.types import TaskRun
from zoo.fileio import write_text_atomic
from zoo.models import ModelRef
from zoo.registry import TaskSpec


def label_ids(task: TaskSpec, dataset, labels: list[str]) -> list[int]:
    """Integer labels of a split: pair files store indices already, news files store label names."""
    values = list(dataset["label"])
    if "premise" in dataset.column_names:
        bad = [v for v in values if not 0 <= int(v) < len(labels)]
        if bad:
            raise DataError(f"{task.key}: label {bad[0]} out of range for labels {labels}")
        return [int(v) for v in values]
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({v for v in values if v not in index})
    if unknown:
        raise DataError(f"{task.key}: labels {unknown[:5]} are not in the task's label list {labels}")
    return [index[v] for v in values]


def encode_texts(tokenizer, dataset, max_length: int, labels: list[int] | None = None):
    """Tokenise pairs (``premise``/``hypothesis``) or single texts (``text``) into a model-input Dataset."""
    from datasets import Dataset

    if "premise" in dataset.column_names:
        enc = tokenizer(
            list(dataset["premise"]), list(dataset["hypothesis"]), truncation=True, max_length=max_length
        )
    else:
        enc = tokenizer(list(dataset["text"]), truncation=True, max_length=max_length)
    columns = {key: enc[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in enc}
    if labels is not None:
        columns["labels"] = labels
    return Dataset.from_dict(columns)


def predict_labels(model, encoded, collator, batch_size: int, bf16: bool = False) -> list[int]:
    """Predicted label index of every row, in order."""
    out = [int(logits.argmax(-1)) for logits in predict_rows(model, encoded, collator, batch_size, bf16)]
    if len(out) != len(encoded):
        raise AssertionError(f"prediction misaligned: {len(encoded)} rows but {len(out)} predictions")
    return out


def write_label_predictions(path: Path, labels: list[str], gold: list[int], pred: list[int]) -> Path:
    """The score split's predictions as TSV: ``row, gold, predicted`` (label names), written atomically."""
    rows = [f"{i}\t{labels[g]}\t{labels[p]}" for i, (g, p) in enumerate(zip(gold, pred, strict=True))]
    return write_text_atomic(path, "# row\tgold\tpredicted\n" + "\n".join(rows) + "\n")


def run_classification_task(
    model: ModelRef, task: TaskSpec, seed: int, preset: EvalPreset, out_dir: Path
) -> TaskRun:
    """Fine-tune a sequence(-pair) classification head on ``task`` and score it (accuracy, macro-F1)."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    clock = time.perf_counter()
    splits = load_task_splits(task, preset)
    train, select, score, labels = splits.train, splits.select, splits.score, splits.labels
    y_train, y_select, y_score = (label_ids(task, d, labels) for d in (train, select, score))

    tokenizer = load_tokenizer(model)
    collator = DataCollatorWithPadding(tokenizer)
    phases = {"load": time.perf_counter() - clock}
    clock = time.perf_counter()
    enc_train = encode_texts(tokenizer, train, preset.max_length, y_train)
    enc_select = encode_texts(tokenizer, select, preset.max_length)
    enc_score = encode_texts(tokenizer, score, preset.max_length)
    eval_bs = preset.eval_batch_size
    phases["tokenise"] = time.perf_counter() - clock

    clock = time.perf_counter()
    net = load_head_model(model, AutoModelForSequenceClassification, labels, seed)
    (enc_train, enc_select, enc_score), embedding_rows = compact_embeddings(
        net, [enc_train, enc_select, enc_score], tokenizer.pad_token_id
    )
    phases["load"] += time.perf_counter() - clock

    def select_score(m) -> float:  # under the run's numerics (the loop's autocast)
        pred = predict_labels(m, enc_select, collator, eval_bs)
        return metrics.classification_scores(y_select, pred)[task.main_metric]

    fitted = fit(
        net, dataset_training(enc_train, collator, select_score, label=f"{task.key} {model.id}"), preset, seed
    )
    clock = time.perf_counter()
    pred = predict_labels(net, enc_score, collator, eval_bs, fitted.bf16)
    all_scores = metrics.classification_scores(y_score, pred)
    scores = {m: all_scores[m] for m in task.metrics}
    phases["score"] = time.perf_counter() - clock

    path = write_label_predictions(out_dir / "predictions.tsv", labels, y_score, pred)
    truncated = sum(len(ids) >= preset.max_length for ids in enc_score["input_ids"])
    details = {
        **fit_details(task, preset, fitted, splits.sizes(), phases),
        "score_truncated": truncated,
        "embedding_rows": embedding_rows,
        "labels": labels,
    }
    return TaskRun(scores=scores, details=details, predictions=path)
