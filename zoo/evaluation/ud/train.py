"""Training and prediction loops of the joint UD model (plain PyTorch: tree decoding fits Trainer poorly).

Recipe (the same for every model, so scores and retention ratios compare): AdamW, the encoder at
``budget.learning_rate`` and the heads (scalar mix included) at :data:`HEAD_LR_FACTOR` times that; linear
warm-up over ``budget.warmup_ratio`` of the planned steps, then linear decay to 0 at ``budget.max_epochs``;
gradient clipping at 1.0. The input word-embedding matrix stays frozen (:data:`FREEZE_WORD_EMBEDDINGS`):
with XLM-R's 250k pieces it is ~80% of the teacher's weights, and updating it with Adam each step costs more
CPU time than the rest of the encoder while only the few pieces in the train split would move; every
transformer layer is fine-tuned.

Training batches group sentences of similar length (shuffled pools sorted by length, batch order
shuffled; seeded). Prediction sorts by length too, for speed, and writes every result back to its
sentence's index; :func:`predict` asserts that each sentence got exactly one prediction of the right length.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from zoo.evaluation.training import FitResult, should_stop
from zoo.evaluation.ud.model import Encoded, JointUDModel, apply_lemma, collate
from zoo.evaluation.ud.tree import mst_heads

HEAD_LR_FACTOR = 20.0
FREEZE_WORD_EMBEDDINGS = True
POOL_BATCHES = 50  # length-sorting pool, in batches


@dataclass
class WordPrediction:
    """Predicted columns of one sentence (one entry per word)."""

    upos: list[str]
    xpos: list[str]
    feats: list[str]
    lemma: list[str]
    head: list[int]
    deprel: list[str]


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _to(batch: dict[str, torch.Tensor], dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(dev) for k, v in batch.items()}


def train_batches(data: list[Encoded], batch_size: int, rng: random.Random) -> list[list[Encoded]]:
    """Length-grouped batches in a shuffled order: shuffle, sort pools of batches by length, cut, shuffle."""
    order = list(data)
    rng.shuffle(order)
    batches = []
    pool = batch_size * POOL_BATCHES
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda e: e.n_tokens)
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def predict(model: JointUDModel, data: list[Encoded], forms: list[list[str]], batch_size: int,
            pad_id: int) -> list[WordPrediction]:
    """Predictions of every sentence, in the order of ``data`` (whose ``index`` runs 0..len-1)."""
    labels = model.labels
    names = {c: labels.tags[c] for c in labels.tags}
    root_id = labels.index["deprel"].get("root")
    dev = next(model.parameters()).device
    out: list[WordPrediction | None] = [None] * len(data)
    model.eval()
    with torch.inference_mode():
        order = sorted(data, key=lambda e: e.n_tokens)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            inputs = collate(batch, pad_id)
            inputs = {k: inputs[k] for k in ("input_ids", "attention_mask", "slot", "word_mask")}
            res = model(**_to(inputs, dev))
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
                    lemma=[apply_lemma(form, int(best["lemma"][b, i]), labels)
                           for i, form in zip(words, forms[e.index], strict=True)],
                    head=[int(heads[b, i]) for i in words],
                    deprel=[names["deprel"][rel_best[b, i]] for i in words],
                )
    missing = [i for i, p in enumerate(out) if p is None]
    if missing:
        raise AssertionError(f"no prediction for sentences {missing[:5]}")
    return out  # type: ignore[return-value]


def fit(model: JointUDModel, train: list[Encoded], *, max_epochs: int, patience: int, batch_size: int,
        learning_rate: float, warmup_ratio: float, weight_decay: float, seed: int, pad_id: int,
        select_score: Callable[[JointUDModel], float], log: Callable[[str], None] | None = None,
        listener: Callable[[int, float, float], None] | None = None) -> FitResult:
    """Train with early stopping on ``select_score`` (higher is better); the best epoch's weights are kept."""
    from transformers import get_linear_schedule_with_warmup

    dev = device()
    model.to(dev)
    if FREEZE_WORD_EMBEDDINGS:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    heads = model.head_parameters()
    head_ids = {id(p) for p in heads}
    encoder = [p for p in model.parameters() if id(p) not in head_ids and p.requires_grad]
    optimizer = torch.optim.AdamW(  # fused, as the HF Trainer's default (see scripts/profile_finetune.py)
        [{"params": encoder, "lr": learning_rate}, {"params": heads, "lr": learning_rate * HEAD_LR_FACTOR}],
        weight_decay=weight_decay, fused=True,
    )
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = steps_per_epoch * max_epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
    rng = random.Random(seed)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    best_state: dict[str, torch.Tensor] = {}
    result = FitResult()
    started = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        losses = []
        for batch in train_batches(train, batch_size, rng):
            loss = model(**_to(collate(batch, pad_id), dev))["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            result.steps += 1
        t1 = time.perf_counter()
        score = float(select_score(model))
        t2 = time.perf_counter()
        result.train_time_s += t1 - t0
        result.select_time_s += t2 - t1
        result.epochs_run = epoch
        result.curve[epoch] = score
        result.train_loss[epoch] = round(float(np.mean(losses)), 5)
        if log:
            log(f"epoch {epoch}: loss {result.train_loss[epoch]:.4f}, select LAS {score:.2f} "
                f"(train {t1 - t0:.0f}s, select {t2 - t1:.0f}s)")
        if listener:
            listener(epoch, score, time.perf_counter() - started)
        if score > result.best_score:
            result.best_score, result.best_epoch = score, epoch
            best_state = {n: p.detach().to("cpu", copy=True) for n, p in trainable}
        if should_stop(result.curve, patience):
            result.stopped_early = True
            break
    if result.best_epoch != result.epochs_run:
        with torch.no_grad():
            for n, p in trainable:
                p.copy_(best_state[n].to(p.device))
    result.train_time_s = round(result.train_time_s, 2)
    result.select_time_s = round(result.select_time_s, 2)
    model.eval()
    return result
