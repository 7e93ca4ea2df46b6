"""Fine-tuning shared by the task heads: load an encoder with a head, train with HF Trainer, select the epoch.

The recipe (all models alike, so scores and retention ratios compare): AdamW with linear warm-up and decay
over ``budget.max_epochs``, gradient clipping at 1.0, training batches grouped by length. After every
epoch the head predicts the ``select`` split; the weights of the best epoch are kept in memory (no
checkpoint is written), and training stops after ``budget.patience`` epochs without improvement, counted
once the score has left its first epoch's value (``should_stop``). The best weights are restored before
the ``score`` split is predicted. A run that reaches ``max_epochs`` with its best score at the last epoch
is still rising: ``converged`` is false in its record.

Prediction runs without gradients in batches of ``budget.eval_batch_size`` rows sorted by length (little
padding), and hands the rows back in their original order. Numerics (fp32 or bf16 autocast) are chosen by
:mod:`zoo.evaluation.numerics`.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.evaluation.budget import EvalBudget
from zoo.models import ModelRef

# The runner sets this to show per-epoch progress: listener(epoch, select_score, seconds since the run began).
EPOCH_LISTENER: contextvars.ContextVar[Callable[[int, float, float], None] | None] = contextvars.ContextVar(
    "EPOCH_LISTENER", default=None
)


def cap(dataset, n: int | None, seed: int = 0):
    """At most ``n`` rows: a fixed random subset (the same for every model and seed), in original order."""
    if n is None or len(dataset) <= n:
        return dataset
    import numpy as np

    keep = np.random.default_rng(seed).permutation(len(dataset))[:n]
    return dataset.select(sorted(int(i) for i in keep))


@dataclass
class TaskSplits:
    """The three splits of one run, capped by the budget, and the task's label list."""

    full_train: Any
    train: Any
    select: Any
    score: Any
    labels: list[str]

    def sizes(self) -> dict[str, int]:
        """Rows per split (``train_available``: before the cap), for the record's details."""
        return {"train": len(self.train), "select": len(self.select), "score": len(self.score),
                "train_available": len(self.full_train)}


def load_task_splits(task, budget: EvalBudget) -> TaskSplits:
    """Train / select / score of ``task`` with the budget's caps (the same rows for every model and seed)."""
    from zoo.data.tasks import load_split, task_labels

    full_train = load_split(task, "train")
    return TaskSplits(
        full_train=full_train,
        train=cap(full_train, budget.max_train_examples),
        select=cap(load_split(task, "select"), budget.max_select_examples or budget.max_eval_examples),
        score=cap(load_split(task, "score"), budget.max_eval_examples),
        labels=task_labels(task, full_train),
    )


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
    The head (and a random encoder) is initialised from ``seed``.
    """
    import torch

    id2label = dict(enumerate(labels))
    label2id = {lab: i for i, lab in enumerate(labels)}
    torch.manual_seed(seed)
    try:
        with quiet_transformers():
            if ref.path and not ref.config_from and ref.config is None:
                return auto_cls.from_pretrained(ref.path, num_labels=len(labels), id2label=id2label,
                                                label2id=label2id)
            config = ref.load_config()
            config.num_labels, config.id2label, config.label2id = len(labels), id2label, label2id
            return auto_cls.from_config(config)
    except (OSError, ValueError, KeyError) as e:
        raise ZooError(f"could not load {ref.id} with a {auto_cls.__name__} head: {e}") from None


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


def fit_details(task, budget, fitted: FitResult, splits: dict[str, int],
                phases: dict[str, float] | None = None) -> dict:
    """The details every fine-tuned record carries: head, budget, the selection curve, time, split sizes.

    ``phases``: seconds spent outside ``fit`` (``load``, ``tokenise``, ``score``); ``time_s`` adds
    ``train`` and ``select`` to them.
    """
    time_s = {**(phases or {}), "train": fitted.train_time_s, "select": fitted.select_time_s}
    return {
        "head": task.head,
        "budget": budget.name,
        "protocol": budget.protocol,
        "learning_rate": budget.learning_rate,
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


def choose_numerics(model, train_dataset, collator, budget: EvalBudget) -> dict[str, Any]:
    """fp32 or bf16 autocast for this model on this machine (``budget.bf16``; see :mod:`numerics`)."""
    from zoo.evaluation import numerics

    return numerics.choose(
        budget.bf16, model, lambda: probe_batch(train_dataset, collator, budget.batch_size, model),
        key=(type(model).__name__, model.config.to_json_string(), budget.batch_size),
    )


def fit(
    model, train_dataset, collator, budget: EvalBudget, seed: int, out_dir: Path,
    select_score: Callable[[Any], float], numerics: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` on ``train_dataset``; after each epoch ``select_score(model)`` picks the best epoch.

    ``numerics``: :func:`choose_numerics`' choice (fp32 when None). ``train_dataset`` holds the model
    inputs and ``labels`` only. On return ``model`` has the best epoch's
    weights. Nothing is saved under ``out_dir`` (Trainer's scratch directory).
    """
    import torch
    from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    result = FitResult(best_epoch=0, best_score=-math.inf, epochs_run=0)
    result.numerics = numerics or {"bf16": False, "mode": "off"}
    best_state: dict[str, Any] = {}
    listener = EPOCH_LISTENER.get()
    started = time.perf_counter()

    class Selection(TrainerCallback):
        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            epoch = int(round(state.epoch or 0))
            t0 = time.perf_counter()
            model.eval()
            score = float(select_score(model))
            model.train()
            result.select_time_s += time.perf_counter() - t0
            result.curve[epoch] = score
            result.epochs_run = epoch
            if score > result.best_score:
                result.best_score, result.best_epoch = score, epoch
                best_state.clear()
                best_state.update({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
            if should_stop(result.curve, budget.patience):
                control.should_training_stop = result.stopped_early = True
            if listener is not None:
                listener(epoch, score, time.perf_counter() - started)
            return control

    args = TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=budget.batch_size,
        num_train_epochs=budget.max_epochs,
        learning_rate=budget.learning_rate,
        weight_decay=budget.weight_decay,
        warmup_steps=budget.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        train_sampling_strategy="group_by_length",
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=True,
        seed=seed,
        data_seed=seed,
        bf16=result.numerics["bf16"],
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        remove_unused_columns=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train_dataset, data_collator=collator,
                      callbacks=[Selection()])
    trainer.remove_callback(PrinterCallback)
    t0 = time.perf_counter()
    trainer.train()
    result.train_time_s = round(time.perf_counter() - t0 - result.select_time_s, 2)
    result.select_time_s = round(result.select_time_s, 2)
    result.steps = trainer.state.global_step
    for entry in trainer.state.log_history:
        if "loss" in entry and "epoch" in entry:
            result.train_loss[int(round(entry["epoch"]))] = round(float(entry["loss"]), 5)
    if best_state:
        model.load_state_dict(best_state)
    model.eval()
    return result


def probe_batch(dataset, collator, batch_size: int, model) -> dict[str, Any]:
    """One training batch of median-length rows (for timing probes), on the model's device."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    mid = max(0, len(order) // 2 - batch_size // 2)
    rows = [dataset[i] for i in order[mid: mid + batch_size]]
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in collator(rows).items()}


def predict_rows(model, dataset, collator, batch_size: int, bf16: bool = False) -> list[Any]:
    """Logits of every row of ``dataset`` (numpy, ``[row length, ...]`` for token heads), in row order.

    Rows are batched by length (sorted) so batches carry little padding; the result is put back in the
    dataset's order and checked to have one entry per row.
    """
    import torch

    device = next(model.parameters()).device
    lengths = [len(ids) for ids in dataset["input_ids"]]
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    out: list[Any] = [None] * len(lengths)
    model.eval()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(order), batch_size):
            idx = order[start: start + batch_size]
            rows = [dataset[i] for i in idx]
            batch = {k: v.to(device) for k, v in collator(rows).items() if k != "labels"}
            logits = model(**batch).logits.float().cpu().numpy()
            token_level = logits.ndim == 3
            for r, i in enumerate(idx):
                out[i] = logits[r, : lengths[i]] if token_level else logits[r]
    missing = [i for i, x in enumerate(out) if x is None]
    if missing:
        raise AssertionError(f"prediction misaligned: rows {missing[:5]} got no logits")
    return out
