"""NER and POS: token classification with the first sub-word of every word labelled.

Words are tokenised with ``is_split_into_words``; the first sub-word of each word carries its tag and the
other positions ``-100``. A sentence longer than ``preset.max_length`` sub-words is cut into consecutive
word windows that fit, so every word is trained on and predicted (windows are joined back for scoring).
A word the tokenizer turns into no sub-word at all is replaced by the unknown token. Predictions are
made in sequential order and checked word by word against the gold rows.

NER is scored with seqeval entity F1 (default mode, see :mod:`zoo.evaluation.metrics`), POS with word
accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import DataError, ZooError
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


@dataclass
class EncodedWords:
    """Sub-word windows of a word-tagged split, and how they map back to sentences."""

    dataset: object  # datasets.Dataset: input_ids, attention_mask[, token_type_ids], labels
    window_sentence: list[int]  # sentence index of each window (windows of a sentence are consecutive)
    first_positions: list[list[int]]  # per window: token position of the first sub-word of each word
    sentence_lengths: list[int]  # words per sentence


def _word_counts(tokenizer, sentences: list[list[str]]) -> list[list[int]]:
    enc = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    counts = []
    for i, words in enumerate(sentences):
        c = [0] * len(words)
        for w in enc.word_ids(i):
            if w is not None:
                c[w] += 1
        counts.append(c)
    return counts


def windows(counts: list[int], limit: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, end)`` word ranges whose sub-word counts sum to at most ``limit``.

    A single word longer than ``limit`` gets a window of its own (it is truncated; its first sub-word stays).
    """
    out: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, c in enumerate(counts):
        c = min(c, limit)
        if i > start and used + c > limit:
            out.append((start, i))
            start, used = i, 0
        used += c
    if counts:
        out.append((start, len(counts)))
    return out


def encode_words(
    tokenizer,
    sentences: list[list[str]],
    tags: list[list[str]] | None,
    label2id: dict[str, int],
    max_length: int,
) -> EncodedWords:
    """Tokenise word-split sentences into windows; label first sub-words (``-100`` elsewhere)."""
    from datasets import Dataset

    sentences = [list(s) for s in sentences]
    counts = _word_counts(tokenizer, sentences)
    unk = tokenizer.unk_token or tokenizer.pad_token
    for s, c in zip(sentences, counts, strict=True):
        for j, n in enumerate(c):
            if n == 0:  # e.g. a zero-width character: no sub-word would carry the word's tag
                s[j], c[j] = unk, 1
    limit = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if limit < 1:
        raise ZooError(f"max_length {max_length} leaves no room for words")
    win_words, win_tags, window_sentence = [], [], []
    for i, (s, c) in enumerate(zip(sentences, counts, strict=True)):
        for a, b in windows(c, limit):
            win_words.append(s[a:b])
            win_tags.append(tags[i][a:b] if tags is not None else None)
            window_sentence.append(i)
    enc = tokenizer(win_words, is_split_into_words=True, truncation=True, max_length=max_length)
    labels, first_positions = [], []
    for k, words in enumerate(win_words):
        firsts, prev = [], None
        for pos, w in enumerate(enc.word_ids(k)):
            if w is not None and w != prev:
                firsts.append(pos)
            prev = w
        if len(firsts) != len(words):
            raise ZooError(f"window {k}: {len(words)} words but {len(firsts)} first sub-words")
        row = [-100] * len(enc["input_ids"][k])
        if win_tags[k] is not None:
            for pos, tag in zip(firsts, win_tags[k], strict=True):
                row[pos] = label2id[tag]
        labels.append(row)
        first_positions.append(firsts)
    columns = {key: enc[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in enc}
    if tags is not None:
        columns["labels"] = labels
    lengths = [len(s) for s in sentences]
    return EncodedWords(Dataset.from_dict(columns), window_sentence, first_positions, lengths)


def predict_tags(
    model, encoded: EncodedWords, collator, batch_size: int, id2label: dict[int, str], bf16: bool = False
) -> list[list[str]]:
    """Word-level tags of every sentence, in order, from a token-classification model."""
    rows = predict_rows(model, without_labels(encoded.dataset), collator, batch_size, bf16)
    return join_tags(encoded, rows, id2label)


def without_labels(dataset):
    """A tokenised split's model inputs (its ``labels`` column dropped)."""
    return dataset.select_columns([c for c in dataset.column_names if c != "labels"])


def join_tags(encoded: EncodedWords, rows: Sequence[Any], id2label: dict[int, str]) -> list[list[str]]:
    """Word-level tags of every sentence from per-window token logits (``[window length, labels]``, in window
    order: a model's or a runtime's); asserts that each sentence gets one tag per word."""
    per_sentence: list[list[str]] = [[] for _ in encoded.sentence_lengths]
    for k, logits in enumerate(rows):
        best = logits.argmax(-1)
        tags = [id2label[int(best[p])] for p in encoded.first_positions[k]]
        per_sentence[encoded.window_sentence[k]].extend(tags)
    for i, (tags, n) in enumerate(zip(per_sentence, encoded.sentence_lengths, strict=True)):
        if len(tags) != n:
            raise ZooError(f"prediction misaligned: sentence {i} has {n} words but {len(tags)} tags")
    return per_sentence


def score_tags(task: TaskSpec, gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """The task's metrics: entity P/R/F1 for NER, word accuracy otherwise."""
    scores = metrics.entity_scores(gold, pred) if task.family == "ner" else metrics.word_accuracy(gold, pred)
    return {m: scores[m] for m in task.metrics}


def write_tag_predictions(
    path: Path, sentences: list[list[str]], gold: list[list[str]], pred: list[list[str]]
) -> Path:
    """The score split's predictions as TSV: ``token, gold, predicted``, a blank line after each sentence."""
    lines = []
    for words, gold_tags, tags in zip(sentences, gold, pred, strict=True):
        lines.extend(f"{w}\t{g}\t{p}" for w, g, p in zip(words, gold_tags, tags, strict=True))
        lines.append("")
    return write_text_atomic(path, "# token\tgold\tpredicted\n" + "\n".join(lines) + "\n")


def run_tagging_task(
    model: ModelRef,
    task: TaskSpec,
    seed: int,
    preset: EvalPreset,
    out_dir: Path,
    runtimes: Sequence[str] = (),
) -> TaskRun:
    """Fine-tune a token-classification head on ``task`` (NER or POS) and score it; with ``runtimes``, score
    it again with the fine-tuned encoder in each of them (:mod:`zoo.evaluation.runtime_check`)."""
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    clock = time.perf_counter()
    splits = load_task_splits(task, preset)
    train, select, score, labels = splits.train, splits.select, splits.score, splits.labels
    label2id = {t: i for i, t in enumerate(labels)}
    id2label = dict(enumerate(labels))
    unknown = sorted({t for tags in train["tags"] for t in tags} - set(labels))
    if unknown:
        raise DataError(f"{task.key}: train tags {unknown[:5]} are not in the task's label list")

    tokenizer = load_tokenizer(model)
    collator = DataCollatorForTokenClassification(tokenizer)
    phases = {"load": time.perf_counter() - clock}
    clock = time.perf_counter()
    enc_train = encode_words(tokenizer, train["tokens"], train["tags"], label2id, preset.max_length)
    enc_select = encode_words(tokenizer, select["tokens"], None, label2id, preset.max_length)
    enc_score = encode_words(tokenizer, score["tokens"], None, label2id, preset.max_length)
    select_gold, score_gold = list(select["tags"]), list(score["tags"])
    eval_bs = preset.eval_batch_size
    phases["tokenise"] = time.perf_counter() - clock

    clock = time.perf_counter()
    net = load_head_model(model, AutoModelForTokenClassification, labels, seed)
    encoded = (enc_train, enc_select, enc_score)
    # the runtime check runs the encoder with its whole vocabulary: the inputs and table before compaction
    uncompacted = ([e.dataset for e in encoded], net.get_input_embeddings()) if runtimes else None
    compacted, embedding_rows = compact_embeddings(net, [e.dataset for e in encoded], tokenizer.pad_token_id)
    for e, dataset in zip(encoded, compacted, strict=True):
        e.dataset = dataset
    phases["load"] += time.perf_counter() - clock

    def select_score(m) -> float:  # under the run's numerics (the loop's autocast)
        pred = predict_tags(m, enc_select, collator, eval_bs, id2label)
        return score_tags(task, select_gold, pred)[task.main_metric]

    head = dataset_training(enc_train.dataset, collator, select_score, label=f"{task.key} {model.id}")
    fitted = fit(net, head, preset, seed)
    clock = time.perf_counter()
    pred = predict_tags(net, enc_score, collator, eval_bs, id2label, fitted.bf16)
    scores = score_tags(task, score_gold, pred)
    phases["score"] = time.perf_counter() - clock

    path = write_tag_predictions(out_dir / "predictions.tsv", score["tokens"], score_gold, pred)
    details = {
        **fit_details(task, preset, fitted, splits.sizes(), phases),
        "windows": {"train": len(enc_train.window_sentence), "score": len(enc_score.window_sentence)},
        "embedding_rows": embedding_rows,
        "labels": labels,
    }
    if uncompacted is not None:
        from zoo.evaluation.runtime_check import check_runtimes
        from zoo.evaluation.task_vocab import full_embeddings

        datasets, original = uncompacted
        table = full_embeddings(net.get_input_embeddings(), original, datasets, tokenizer.pad_token_id)
        details["runtime_check"] = check_runtimes(
            net,
            table,
            runtimes,
            without_labels(datasets[2]),
            collator,
            eval_bs,
            lambda rows: score_tags(task, score_gold, join_tags(enc_score, rows, id2label)),
            task.main_metric,
            out_dir / "runtimes",
        )
    return TaskRun(scores=scores, details=details, predictions=path)
