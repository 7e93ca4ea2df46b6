"""The one fine-tuning loop of every task head: tagging, sentence classification and the joint UD model.

Recipe (all models and heads alike, so that scores and retention ratios compare): fused AdamW over the
parameter groups the head gives, linear warm-up over ``preset.warmup_ratio`` of the planned steps and
linear decay to 0 at ``preset.max_epochs``, gradient clipping at 1.0, training batches grouped by length
(:func:`length_grouped_batches`, seeded). After every epoch the head scores the ``select`` split; the best
epoch's weights are kept in memory (no checkpoint is written) and training stops after ``preset.patience``
epochs without a new best, counted once the score has left its first epoch's value (:func:`should_stop`).
The best weights are back in the model when :func:`fit` returns. A run that reaches ``max_epochs`` with its
best score at the last epoch is still rising: ``converged`` is false in its record.

Numerics (fp32, or bf16 autocast where it trains faster) are chosen per model by
:mod:`zoo.evaluation.numerics` on one median-length training batch; selection runs under the same choice.
Per epoch the loop reports to :data:`EPOCH_LISTENER` and logs one line; the record gets the time spent
training and selecting.

What a head passes in (:class:`HeadTraining`): how long its training examples are and how to collate them
(examples → model inputs with targets), its loss, its select-split score and its parameter groups.

Not HF Trainer (which trained the tagging and sentence heads until the UD model joined this loop): each
head-specific part would need a Trainer override (a sampler over arbitrary examples, an optimizer with
per-group rates and frozen rows, an epoch callback that keeps the best weights in memory), which leaves
Trainer only the few lines of the inner step, plus a scratch output directory and per-step overhead that
shows on small models. Distillation, which needs checkpoints and ``accelerate launch``, does use Trainer.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from zoo.evaluation.presets import EvalPreset

# The runner sets this to show per-epoch progress: listener(epoch, select_score, seconds since the run began).
EPOCH_LISTENER: contextvars.ContextVar[Callable[[int, float, float], None] | None] = contextvars.ContextVar(
    "EPOCH_LISTENER", default=None
)
POOL_BATCHES = 50  # length-sorting pool, in batches (as HF's LengthGroupedSampler's megabatches)
MAX_GRAD_NORM = 1.0

log = logging.getLogger(__name__)


def output_loss(model, batch: dict[str, Any]) -> torch.Tensor:
    """The loss a model returns for inputs with targets (``loss`` of a transformers output or a dict)."""
    return model(**batch)["loss"]


_NO_DECAY = re.compile(r"bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)")


def decay_groups(model, preset: EvalPreset) -> list[dict[str, Any]]:
    """HF Trainer's rule: weight decay on every trainable weight but biases and normalisation weights."""
    from torch import nn

    no_decay = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()}
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay |= {id(p) for n, p in params if _NO_DECAY.search(n.lower())}
    groups = [
        {"params": [p for _, p in params if id(p) not in no_decay], "weight_decay": preset.weight_decay},
        {"params": [p for _, p in params if id(p) in no_decay], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


@dataclass
class HeadTraining:
    """The head-specific parts of a fine-tuning run; everything else is :func:`fit`'s."""

    lengths: list[int]  # tokens per training example (length grouping, the numerics probe)
    collate: Callable[[list[int]], dict[str, Any]]  # example indices -> model inputs with targets (tensors)
    select_score: Callable[[Any], float]  # the model -> its select-split main metric (higher is better)
    loss: Callable[[Any, dict[str, Any]], Any] = output_loss
    param_groups: Callable[[Any, EvalPreset], list[dict[str, Any]]] = decay_groups
    label: str = ""  # names the run in log lines


@dataclass
class FitResult:
    """What training did: the selection curve and the epoch whose weights were kept."""

    best_epoch: int = 0
    best_score: float = -math.inf
    epochs_run: int = 0
    stopped_early: bool = False  # True: patience ran out; False: max_epochs reached (maybe still improving)
    curve: dict[int, float] = field(default_factory=dict)  # epoch -> select-split main metric (unrounded)
    train_loss: dict[int, float] = field(default_factory=dict)  # epoch -> mean training loss
    steps: int = 0
    train_time_s: float = 0.0
    select_time_s: float = 0.0
    numerics: dict[str, Any] = field(default_factory=lambda: {"bf16": False, "mode": "off"})

    @property
    def converged(self) -> bool:
        """False when training hit ``max_epochs`` while its select score was still rising (best = last)."""
        return self.stopped_early or self.best_epoch < self.epochs_run

    @property
    def bf16(self) -> bool:
        """Whether training (and so prediction) runs under bf16 autocast."""
        return bool(self.numerics.get("bf16"))


def device() -> torch.device:
    """Where fine-tuning runs: the GPU when there is one."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(dev: torch.device, bf16: bool):
    """bf16 autocast on ``dev`` when ``bf16``; else no context at all (an enclosing autocast stays on)."""
    import torch

    return torch.autocast(dev.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches (example indices) of similar length in a shuffled order: shuffle the examples,
    sort pools of :data:`POOL_BATCHES` batches by length, cut them into batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    pool = batch_size * POOL_BATCHES
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def should_stop(curve: dict[int, float], patience: int) -> bool:
    """Early stopping on the select-split curve (epoch -> score): ``patience`` epochs without a new best.

    A flat start is not a plateau: epochs count only once the score has risen above its first epoch's
    value. A token-classification head predicts "O" everywhere (entity F1 0.0) for its first epochs, and a
    classifier may guess one class; stopping there would score the model at its starting point.
    """
    scores = [curve[e] for e in sorted(curve)]
    if not any(s > scores[0] for s in scores):
        return False
    best = scores.index(max(scores))  # the first epoch with the best score, as fit() keeps its weights
    return len(scores) - 1 - best >= patience


def _to(batch: dict[str, Any], dev) -> dict[str, Any]:
    return {k: v.to(dev) for k, v in batch.items()}


def _config_json(model) -> str:
    config = getattr(model, "config", None) or getattr(getattr(model, "encoder", None), "config", None)
    return config.to_json_string() if config is not None else ""


def _numerics(model, head: HeadTraining, preset: EvalPreset, dev) -> dict[str, Any]:
    """fp32 or bf16 autocast for this model on this machine (``preset.bf16``), probed on median rows."""
    from zoo.evaluation import numerics

    def probe_batch() -> dict[str, Any]:
        order = sorted(range(len(head.lengths)), key=head.lengths.__getitem__)
        mid = max(0, len(order) // 2 - preset.batch_size // 2)
        return _to(head.collate(order[mid : mid + preset.batch_size]), dev)

    key = (type(model).__name__, _config_json(model), preset.batch_size)
    return numerics.choose(preset.bf16, model, probe_batch, key=key, loss=head.loss)


def fit(model, head: HeadTraining, preset: EvalPreset, seed: int) -> FitResult:
    """Train ``model`` (moved to :func:`device`) with early stopping on ``head.select_score``; on return it
    holds the best epoch's weights and is in eval mode. ``seed`` orders the batches; the caller seeds torch
    before it builds the head, so dropout follows from the seed too."""
    import numpy as np
    import torch
    from transformers import get_linear_schedule_with_warmup

    dev = device()
    model.to(dev)
    groups = head.param_groups(model, preset)  # may freeze rows: before the probe, which times a real step
    result = FitResult(numerics=_numerics(model, head, preset, dev))
    optimizer = torch.optim.AdamW(
        groups, lr=preset.learning_rate, weight_decay=preset.weight_decay, fused=True
    )
    total = math.ceil(len(head.lengths) / preset.batch_size) * preset.max_epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(preset.warmup_ratio * total), total)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    rng = random.Random(seed)
    best_state: dict[str, torch.Tensor] = {}
    listener = EPOCH_LISTENER.get()
    started = time.perf_counter()
    for epoch in range(1, preset.max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        losses = []
        for indices in length_grouped_batches(head.lengths, preset.batch_size, rng):
            batch = _to(head.collate(indices), dev)
            with autocast(dev, result.bf16):
                loss = head.loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            result.steps += 1
        t1 = time.perf_counter()
        model.eval()
        with autocast(dev, result.bf16):
            score = float(head.select_score(model))
        t2 = time.perf_counter()
        result.train_time_s += t1 - t0
        result.select_time_s += t2 - t1
        result.epochs_run = epoch
        result.curve[epoch] = score
        result.train_loss[epoch] = round(float(np.mean(losses)), 5) if losses else math.nan
        log.info(
            "%sepoch %d: loss %.4f, select %.2f (train %.0f s, select %.0f s)",
            f"[{head.label}] " if head.label else "",
            epoch,
            result.train_loss[epoch],
            score,
            t1 - t0,
            t2 - t1,
        )
        if listener is not None:
            listener(epoch, score, time.perf_counter() - started)
        if score > result.best_score:
            result.best_score, result.best_epoch = score, epoch
            best_state = {n: p.detach().to("cpu", copy=True) for n, p in trainable}
        if should_stop(result.curve, preset.patience):
            result.stopped_early = True
            break
    if best_state and result.best_epoch != result.epochs_run:
        with torch.no_grad():
            for n, p in trainable:
                p.copy_(best_state[n].to(p.device))
    result.train_time_s = round(result.train_time_s, 2)
    result.select_time_s = round(result.select_time_s, 2)
    model.eval()
    return result


def fit_details(
    task,
    preset: EvalPreset,
    fitted: FitResult,
    splits: dict[str, int],
    phases: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The details every fine-tuned record carries: head, preset, the selection curve, time, split sizes.

    ``phases``: seconds spent outside ``fit`` (``load``, ``tokenise``, ``score``); ``time_s`` adds
    ``train`` and ``select`` to them.
    """
    time_s = {**(phases or {}), "train": fitted.train_time_s, "select": fitted.select_time_s}
    return {
        "head": task.head,
        "preset": preset.name,
        "protocol": preset.protocol,
        "learning_rate": preset.learning_rate,
        "best_epoch": fitted.best_epoch,
        "epochs_run": fitted.epochs_run,
        "stopped_early": fitted.stopped_early,
        "converged": fitted.converged,
        "numerics": fitted.numerics,
        "time_s": {k: round(v, 2) for k, v in time_s.items()},
        "curve": {epoch: round(score, 4) for epoch, score in fitted.curve.items()},
        "train_loss": fitted.train_loss,
        "steps": fitted.steps,
        "train_time_s": fitted.train_time_s,
        "select_time_s": fitted.select_time_s,
        "split_sizes": splits,
    }
