"""UD tasks: one joint model (tags, features, lemmas, tree, relations) on gold tokens, CoNLL 2018 scores.

:func:`run_ud_task` reads the task's CoNLL-U files in full fidelity (comments, multi-word tokens, empty
nodes), fine-tunes :class:`~zoo.evaluation.ud.model.JointUDModel` with early stopping on the select split's
LAS, predicts the score split and writes it as CoNLL-U: the gold file with only LEMMA, UPOS, XPOS, FEATS,
HEAD and DEPREL replaced and DEPS set to ``_``. Scores come from :mod:`zoo.evaluation.ud_metrics` on that
file against the gold one (a sliced or capped score split is written out as its own gold file first).

Sub-sets follow the other task families: ``max_train_examples`` / ``max_eval_examples`` /
``max_select_examples`` keep a fixed random subset of sentences (seed 0, the same for every model and
seed), in file order, as :func:`zoo.evaluation.training.cap` does for datasets.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np

from zoo.data.conllu import Sentence, format_conllu, read_conllu
from zoo.data.tasks import parse_split
from zoo.errors import ConfigError, DataError, ZooError
from zoo.evaluation import ud_metrics
from zoo.evaluation.budget import EvalBudget
from zoo.evaluation.training import EPOCH_LISTENER, fit_details, load_tokenizer
from zoo.evaluation.types import TaskRun
from zoo.fileio import write_text_atomic
from zoo.models import ModelRef
from zoo.paths import data_dir
from zoo.registry import TaskSpec


def read_split(task: TaskSpec, role: str) -> list[Sentence]:
    """The sentences playing ``role`` (train / select / score), sliced as the split spec says."""
    name, lo, hi = parse_split(task.splits[role])
    if name not in task.local:
        raise ConfigError(f"{task.key}: split '{name}' (role {role}) has no local CoNLL-U file",
                          hint="UD tasks need local files: add it under local: in the language YAML")
    path = data_dir() / task.local[name]
    if not path.is_file():
        raise DataError(f"{task.key}: {path} not found", hint="set ZOO_DATA_DIR to the data root")
    sentences = read_conllu(path)
    n = len(sentences)
    return sentences[n * lo // 100: n * hi // 100]


def cap_sentences(sentences: list[Sentence], n: int | None) -> list[Sentence]:
    """At most ``n`` sentences: the same fixed random subset as ``training.cap``, in file order."""
    if n is None or len(sentences) <= n:
        return sentences
    keep = np.random.default_rng(0).permutation(len(sentences))[:n]
    return [sentences[i] for i in sorted(int(i) for i in keep)]


def with_predictions(gold: list[Sentence], preds) -> list[Sentence]:
    """Copies of the gold sentences with the predicted columns (DEPS ``_``); the rest kept verbatim."""
    out = []
    for s, p in zip(gold, preds, strict=True):
        s = copy.deepcopy(s)
        if len(p.head) != len(s.words):
            raise AssertionError(f"prediction of {len(p.head)} words for a sentence of {len(s.words)}")
        for i, w in enumerate(s.words):
            w[2], w[3], w[4], w[5] = p.lemma[i], p.upos[i], p.xpos[i], p.feats[i]
            w[6], w[7], w[8] = str(p.head[i]), p.deprel[i], "_"
        out.append(s)
    return out


def write_and_score(task: TaskSpec, score: list[Sentence], full_score: list[Sentence], preds,
                    out_dir: Path) -> tuple[Path, dict[str, float], Path | None]:
    """Write ``score`` with ``preds`` as ``out_dir/predictions.conllu``; its CoNLL 2018 scores (percent).

    The gold file is the data file itself when ``score`` is the whole file, else ``score`` written out as
    ``out_dir/gold.conllu`` (returned third, None otherwise), so that the pair can be re-scored
    (``zoo score ud GOLD SYSTEM`` or the official script).
    """
    system = format_conllu(with_predictions(score, preds))
    pred_path = write_text_atomic(out_dir / "predictions.conllu", system)
    name, lo, hi = parse_split(task.splits["score"])
    subset = None
    if (lo, hi) == (0, 100) and len(score) == len(full_score):
        gold_path = data_dir() / task.local[name]
    else:
        gold_path = subset = write_text_atomic(out_dir / "gold.conllu", format_conllu(score))
    metrics = ud_metrics.evaluate_conllu(gold_path, pred_path)
    return pred_path, {m: round(100 * metrics[m].f1, 4) for m in task.metrics}, subset


log = logging.getLogger(__name__)  # per-epoch lines; the runner shows its own progress


def _log(task: TaskSpec, msg: str) -> None:
    log.info("[ud %s] %s", task.key, msg)


def run_ud_task(model: ModelRef, task: TaskSpec, seed: int, budget: EvalBudget, out_dir: Path) -> TaskRun:
    """Train the joint UD model of ``model`` on ``task``; CoNLL 2018 scores (percent) of the score split."""
    import random

    import torch

    from zoo.evaluation.ud.model import Encoder, JointUDModel, build_labels
    from zoo.evaluation.ud.train import FREEZE_WORD_EMBEDDINGS, HEAD_LR_FACTOR, fit, predict

    unknown = [m for m in task.metrics if m not in ud_metrics.METRICS]
    if unknown:
        raise ConfigError(f"{task.key}: unknown UD metrics {unknown}", hint=", ".join(ud_metrics.METRICS))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    full_train = read_split(task, "train")
    train = cap_sentences(full_train, budget.max_train_examples)
    select = cap_sentences(read_split(task, "select"), budget.max_select_examples or budget.max_eval_examples)
    full_score = read_split(task, "score")
    score = cap_sentences(full_score, budget.max_eval_examples)

    tokenizer = load_tokenizer(model)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        encoder = model.load_model(seed)
    except (OSError, ValueError) as e:
        raise ZooError(f"could not load the encoder of {model.id}: {e}") from None
    max_pos = getattr(encoder.config, "max_position_embeddings", budget.max_length + 2)
    max_length = min(budget.max_length, max_pos - 2)
    phases = {"load": time.perf_counter() - clock}
    clock = time.perf_counter()
    labels = build_labels(train)
    enc = Encoder(tokenizer, max_length)
    enc_train = enc.encode(train, labels)
    enc_select, enc_score = enc.encode(select), enc.encode(score)
    phases["tokenise"] = time.perf_counter() - clock
    torch.manual_seed(seed)  # the heads' initialisation
    net = JointUDModel(encoder, labels)
    pad_id = tokenizer.pad_token_id
    eval_bs = budget.eval_batch_size

    select_gold = format_conllu(select)
    select_forms = [s.column("form") for s in select]

    def select_las(m) -> float:
        preds = predict(m, enc_select, select_forms, eval_bs, pad_id)
        system = format_conllu(with_predictions(select, preds))
        return 100 * ud_metrics.evaluate_conllu_text(select_gold, system)["LAS"].f1

    _log(task, f"{model.id}: train {len(train)} / select {len(select)} / score {len(score)} sentences, "
               f"{len(labels.lemma_rules)} lemma rules, max {budget.max_epochs} epochs")
    fitted = fit(net, enc_train, max_epochs=budget.max_epochs, patience=budget.patience,
                 batch_size=budget.batch_size, learning_rate=budget.learning_rate,
                 warmup_ratio=budget.warmup_ratio, weight_decay=budget.weight_decay, seed=seed, pad_id=pad_id,
                 select_score=select_las, log=lambda m: _log(task, m), listener=EPOCH_LISTENER.get())

    fitted.numerics = {"bf16": False, "mode": "fp32 (the UD training loop has no bf16 path)"}
    clock = time.perf_counter()
    preds = predict(net, enc_score, [s.column("form") for s in score], eval_bs, pad_id)
    pred_path, scores, subset = write_and_score(task, score, full_score, preds, out_dir)
    phases["score"] = time.perf_counter() - clock
    _log(task, ", ".join(f"{m} {v:.2f}" for m, v in scores.items()))

    splits = {"train": len(train), "select": len(select), "score": len(score),
              "train_available": len(full_train)}
    details = {
        **fit_details(task, budget, fitted, splits, phases),
        "gold": None if subset else str(data_dir() / task.local[parse_split(task.splits["score"])[0]]),
        "words": {"train": sum(len(s.words) for s in train), "score": sum(len(s.words) for s in score)},
        "segments": {"train": sum(len(e.segments) for e in enc_train),
                     "score": sum(len(e.segments) for e in enc_score)},
        "budget": budget.name,
        "max_length": max_length,
        "classes": labels.sizes(),
        "lemma_rules_copy": labels.lemma_copy,
        "encoder_lr": budget.learning_rate,
        "head_lr": budget.learning_rate * HEAD_LR_FACTOR,
        "frozen_word_embeddings": FREEZE_WORD_EMBEDDINGS,
        "word_pooling": "mean",
    }
    return TaskRun(scores=scores, details=details, predictions=pred_path, gold=subset)
