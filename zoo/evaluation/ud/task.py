"""UD tasks: one joint model (tags, features, lemmas, tree, relations) on gold tokens, CoNLL 2018 scores.

:func:`run_ud_task` reads the task's CoNLL-U sentences in full fidelity (comments, multi-word tokens, empty
nodes; local files or the Hub, :mod:`zoo.data.ud`), fine-tunes
:class:`~zoo.evaluation.ud.model.JointUDModel` in the one fine-tuning loop
(:func:`zoo.evaluation.finetune.fit`) with early stopping on the select split's LAS, predicts the score
split and writes it as CoNLL-U: the gold sentences with only LEMMA, UPOS, XPOS, FEATS, HEAD and DEPREL
replaced and DEPS set to ``_``. Scores come from :mod:`zoo.evaluation.ud.conll18` on that file against the
gold one (a capped score split, or one read from the Hub, is written out as its own gold file first).

What the UD head brings to the loop: its batches of :class:`~zoo.evaluation.ud.model.Encoded` sentences,
its parameter groups (the heads, scalar mix included, at :data:`HEAD_LR_FACTOR` times the encoder's rate;
the input word embeddings frozen, :data:`FREEZE_WORD_EMBEDDINGS`: with XLM-R's 250k pieces they are ~80% of
the teacher's weights and Adam's update of them costs more CPU time than the rest of the encoder while only
the pieces of the train split would move; every transformer layer is fine-tuned) and its select score.

Prediction sorts sentences by length, for speed, decodes each tree with Chu-Liu-Edmonds (one root) and
writes every result back to its sentence's index; :func:`predict` asserts that each sentence got exactly
one prediction of the right length. Sub-sets follow the other task families (:mod:`zoo.evaluation.splits`).
"""

from __future__ import annotations

import copy
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.data.conllu import Sentence, format_conllu
from zoo.data.tasks import parse_split
from zoo.data.ud import local_file
from zoo.errors import ConfigError, ZooError
from zoo.evaluation.finetune import HeadTraining, autocast, fit, fit_details
from zoo.evaluation.heads import load_tokenizer
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.splits import load_ud_split
from zoo.evaluation.types import TaskRun
from zoo.evaluation.ud import conll18
from zoo.fileio import write_text_atomic
from zoo.models import ModelRef
from zoo.registry import TaskSpec

HEAD_LR_FACTOR = 20.0
FREEZE_WORD_EMBEDDINGS = True

log = logging.getLogger(__name__)  # one line per run; the loop logs the epochs


@dataclass
class WordPrediction:
    """Predicted columns of one sentence (one entry per word)."""

    upos: list[str]
    xpos: list[str]
    feats: list[str]
    lemma: list[str]
    head: list[int]
    deprel: list[str]


def with_predictions(gold: list[Sentence], preds: list[WordPrediction]) -> list[Sentence]:
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


def write_and_score(
    task: TaskSpec,
    score: list[Sentence],
    full_score: list[Sentence],
    preds: list[WordPrediction],
    out_dir: Path,
) -> tuple[Path, dict[str, float], Path | None]:
    """Write ``score`` with ``preds`` as ``out_dir/predictions.conllu``; its CoNLL 2018 scores (percent).

    The gold file is the local data file itself when ``score`` is the whole file, else ``score`` written
    out as ``out_dir/gold.conllu`` (returned third, None otherwise), so that the pair can be re-scored
    (``zoo score ud GOLD SYSTEM`` or the official script).
    """
    system = format_conllu(with_predictions(score, preds))
    pred_path = write_text_atomic(out_dir / "predictions.conllu", system)
    gold_path = subset = None
    name, lo, hi = parse_split(task.splits["score"])
    if (lo, hi) == (0, 100) and len(score) == len(full_score):
        gold_path = local_file(task, name)
    if gold_path is None:
        gold_path = subset = write_text_atomic(out_dir / "gold.conllu", format_conllu(score))
    metrics = conll18.evaluate_conllu(gold_path, pred_path)
    return pred_path, {m: round(100 * metrics[m].f1, 4) for m in task.metrics}, subset


def predict(
    model, data: list, forms: list[list[str]], batch_size: int, pad_id: int, bf16: bool = False
) -> list[WordPrediction]:
    """Predictions of every sentence, in the order of ``data`` (whose ``index`` runs 0..len-1)."""
    import torch

    from zoo.evaluation.ud.model import apply_lemma, collate
    from zoo.evaluation.ud.tree import mst_heads

    labels = model.labels
    names = {c: labels.tags[c] for c in labels.tags}
    root_id = labels.index["deprel"].get("root")
    dev = next(model.parameters()).device
    out: list[WordPrediction | None] = [None] * len(data)
    model.eval()
    with torch.inference_mode(), autocast(dev, bf16):
        order = sorted(data, key=lambda e: e.n_tokens)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            inputs = collate(batch, pad_id)
            inputs = {k: inputs[k].to(dev) for k in ("input_ids", "attention_mask", "slot", "word_mask")}
            res = model(**inputs)
            arc = torch.log_softmax(res["arc"].float(), dim=-1).cpu().numpy()
            heads = torch.zeros(inputs["word_mask"].shape, dtype=torch.long)
            for b, e in enumerate(batch):
                n = e.n_words
                heads[b, : n + 1] = torch.from_numpy(mst_heads(arc[b, : n + 1, : n + 1]))
            rel = model.rel_scores(res["x"], heads.to(dev)).float()
            if root_id is not None:  # the root word is labelled root, and only it
                is_root = (heads == 0).to(dev)
                rel[..., root_id] = torch.where(is_root, torch.inf, -torch.inf)
            best = {c: res[c].argmax(-1).cpu() for c in ("upos", "xpos", "feats", "lemma")}
            rel_best = rel.argmax(-1).cpu()
            for b, e in enumerate(batch):
                n, words = e.n_words, range(1, e.n_words + 1)
                if out[e.index] is not None or len(forms[e.index]) != n:
                    raise AssertionError(f"prediction misaligned at sentence {e.index}")
                out[e.index] = WordPrediction(
                    upos=[names["upos"][best["upos"][b, i]] for i in words],
                    xpos=[names["xpos"][best["xpos"][b, i]] for i in words],
                    feats=[names["feats"][best["feats"][b, i]] for i in words],
                    lemma=[
                        apply_lemma(form, int(best["lemma"][b, i]), labels)
                        for i, form in zip(words, forms[e.index], strict=True)
                    ],
                    head=[int(heads[b, i]) for i in words],
                    deprel=[names["deprel"][rel_best[b, i]] for i in words],
                )
    missing = [i for i, p in enumerate(out) if p is None]
    if missing:
        raise AssertionError(f"no prediction for sentences {missing[:5]}")
    return out  # type: ignore[return-value]


def param_groups(model, preset: EvalPreset) -> list[dict[str, Any]]:
    """The encoder at the preset's rate, the heads at :data:`HEAD_LR_FACTOR` times it; word embeddings
    frozen (:data:`FREEZE_WORD_EMBEDDINGS`); weight decay on every group."""
    if FREEZE_WORD_EMBEDDINGS:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    heads = model.head_parameters()
    head_ids = {id(p) for p in heads}
    encoder = [p for p in model.parameters() if id(p) not in head_ids and p.requires_grad]
    return [
        {"params": encoder, "lr": preset.learning_rate},
        {"params": heads, "lr": preset.learning_rate * HEAD_LR_FACTOR},
    ]


def run_ud_task(model: ModelRef, task: TaskSpec, seed: int, preset: EvalPreset, out_dir: Path) -> TaskRun:
    """Train the joint UD model of ``model`` on ``task``; CoNLL 2018 scores (percent) of the score split."""
    import numpy as np
    import torch

    from zoo.evaluation.ud.model import Encoder, JointUDModel, build_labels, collate

    unknown = [m for m in task.metrics if m not in conll18.METRICS]
    if unknown:
        raise ConfigError(f"{task.key}: unknown UD metrics {unknown}", hint=", ".join(conll18.METRICS))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    full_train, train = load_ud_split(task, "train", preset)
    select = load_ud_split(task, "select", preset)[1]
    full_score, score = load_ud_split(task, "score", preset)

    tokenizer = load_tokenizer(model)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        encoder = model.load_model(seed)
    except (OSError, ValueError) as e:
        raise ZooError(f"could not load the encoder of {model.id}: {e}") from None
    max_pos = getattr(encoder.config, "max_position_embeddings", preset.max_length + 2)
    max_length = min(preset.max_length, max_pos - 2)
    phases = {"load": time.perf_counter() - clock}
    clock = time.perf_counter()
    labels = build_labels(train)
    enc = Encoder(tokenizer, max_length)
    enc_train = enc.encode(train, labels)
    enc_select, enc_score = enc.encode(select), enc.encode(score)
    phases["tokenise"] = time.perf_counter() - clock
    torch.manual_seed(seed)  # the heads' initialisation; training's dropout follows from it
    net = JointUDModel(encoder, labels)
    pad_id = tokenizer.pad_token_id
    eval_bs = preset.eval_batch_size

    select_gold = format_conllu(select)
    select_forms = [s.column("form") for s in select]

    def select_las(m) -> float:  # under the run's numerics (the loop's autocast)
        preds = predict(m, enc_select, select_forms, eval_bs, pad_id)
        system = format_conllu(with_predictions(select, preds))
        return 100 * conll18.evaluate_conllu_text(select_gold, system)["LAS"].f1

    log.info(
        "[ud %s] %s: train %d / select %d / score %d sentences, %d lemma rules, max %d epochs",
        task.key,
        model.id,
        len(train),
        len(select),
        len(score),
        len(labels.lemma_rules),
        preset.max_epochs,
    )
    head = HeadTraining(
        lengths=[e.n_tokens for e in enc_train],
        collate=lambda idx: collate([enc_train[i] for i in idx], pad_id),
        select_score=select_las,
        param_groups=param_groups,
        label=f"ud {task.key} {model.id}",
    )
    fitted = fit(net, head, preset, seed)
    clock = time.perf_counter()
    preds = predict(net, enc_score, [s.column("form") for s in score], eval_bs, pad_id, fitted.bf16)
    pred_path, scores, subset = write_and_score(task, score, full_score, preds, out_dir)
    phases["score"] = time.perf_counter() - clock
    log.info("[ud %s] %s", task.key, ", ".join(f"{m} {v:.2f}" for m, v in scores.items()))

    splits = {
        "train": len(train),
        "select": len(select),
        "score": len(score),
        "train_available": len(full_train),
    }
    gold_file = local_file(task, parse_split(task.splits["score"])[0])
    details = {
        **fit_details(task, preset, fitted, splits, phases),
        "gold": None if subset else str(gold_file),
        "words": {"train": sum(len(s.words) for s in train), "score": sum(len(s.words) for s in score)},
        "segments": {
            "train": sum(len(e.segments) for e in enc_train),
            "score": sum(len(e.segments) for e in enc_score),
        },
        "max_length": max_length,
        "classes": labels.sizes(),
        "lemma_rules_copy": labels.lemma_copy,
        "encoder_lr": preset.learning_rate,
        "head_lr": preset.learning_rate * HEAD_LR_FACTOR,
        "frozen_word_embeddings": FREEZE_WORD_EMBEDDINGS,
        "word_pooling": "mean",
    }
    return TaskRun(scores=scores, details=details, predictions=pred_path, gold=subset)
