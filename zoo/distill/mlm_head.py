"""The student's masked-LM head, trained after relation distillation with the encoder frozen.

BERT's head (``BertForMaskedLM.cls``): a transform (dense + GELU + LayerNorm) and a decoder TIED to the
student's pruned word embeddings, with an output bias. The encoder, embeddings included, stays frozen, so
``AutoModel`` loads bit-identical relation-distilled weights; the tied decoder is frozen with them and only
the transform and the bias train (an untied frozen copy would compute the same and store the matrix twice).
The head starts as the unigram baseline (see :func:`with_head`), so its training can only add context.

Objective, by teacher: ``teacher-kl`` when it loads as ``AutoModelForMaskedLM`` with no missing weights
(XLM-R): KL(teacher ‖ student) at the masked positions, the teacher reading the same masked text and its
distribution restricted to the kept pieces, renormalised (student id ``i`` = teacher id ``id_map[i]``);
``mlm-corpus`` otherwise (the offline e5 teacher has no head): cross-entropy at the masked positions.
Masking: transformers' ``DataCollatorForLanguageModeling`` (15 % of non-special pieces; 80 % mask, 10 %
random, 10 % unchanged) over the prepared distillation sequences; training: the HF ``Trainer`` on every
process; the main process then scores the head on the held-out split (:mod:`zoo.distill.mlm_eval`).

The student directory holds ``BertForMaskedLM`` weights (no pooler: no objective trains one, see
:mod:`zoo.distill.student`): ``AutoModel`` loads the same encoder as before (the head's keys reported unused;
``add_pooling_layer=False``, or a random pooler is added); ``AutoModelForMaskedLM`` and
``pipeline("fill-mask")`` load the head.

Resume: head and record part are published atomically as ``<run dir>/mlm-head/``; a rerun with the same
signature (encoder digest, teacher, corpus, head settings) reuses them; a run killed in the head step left
no ``mlm-head/`` and trains the head again.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import Trainer, TrainingArguments

from zoo.distill.checkpoints import run_signature
from zoo.distill.mlm_eval import MASK_PROB, corpus_counts, evaluate_head
from zoo.distill.mlm_teacher import TeacherLM, restricted_kl, teacher_with_head
from zoo.distill.prepare import Job, Prepared, say
from zoo.distill.presets import Preset
from zoo.distill.record import MlmHeadPart
from zoo.errors import ZooError

HEAD_DIR = "mlm-head"
MASKING = "15 % of the non-special pieces; of those 80 % mask token, 10 % random piece, 10 % unchanged"
DECODER = "tied to the student's word embeddings (frozen with the encoder); own output bias"
INIT = (
    "bias = log of the add-one unigram of the training pieces, transform LayerNorm weight 0: the untrained "
    "head predicts the unigram baseline; transform dense: BERT's initialiser"
)
# the preset fields besides mlm_* that the head step depends on (part of its resume signature)
_HEAD_FIELDS = (
    "per_device_batch_size gradient_accumulation_steps lr_scheduler optim bf16 weight_decay max_grad_norm "
    "sampling seed data_seed eval_batch_size"
).split()


class MaskedPositionsLM(nn.Module):
    """A ``BertForMaskedLM`` computing logits at the ``selected`` positions only; its encoder runs without
    gradients and in eval mode (no dropout), whatever the mode of this module."""

    def __init__(self, mlm: nn.Module):
        super().__init__()
        self.mlm = mlm

    def train(self, mode: bool = True) -> MaskedPositionsLM:
        super().train(mode)
        self.mlm.bert.eval()
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, selected: torch.Tensor):
        with torch.no_grad():
            hidden = self.mlm.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.mlm.cls(hidden[selected])


def with_head(encoder: nn.Module, seed: int, counts: np.ndarray | None = None) -> nn.Module:
    """``BertForMaskedLM`` around the trained ``encoder``, the decoder tied to the word
    embeddings, the encoder and so the decoder frozen; a new head (BERT's initialiser, seeded). With the
    piece ``counts`` of the training text, the head starts as the unigram baseline: the bias is the log of
    the add-one unigram and the transform's LayerNorm weight 0 (its output, and so ``E·h``, start at 0)."""
    from transformers import BertForMaskedLM, set_seed

    set_seed(seed)
    mlm = BertForMaskedLM(encoder.config)
    mlm.bert = encoder.requires_grad_(False)
    mlm.tie_weights()
    if counts is not None:
        with torch.no_grad():
            head = mlm.cls.predictions
            head.bias.copy_(torch.as_tensor(np.log((counts + 1) / (counts.sum() + len(counts)))))
            head.transform.LayerNorm.weight.zero_()
    return mlm


class HeadCollator:
    """Teacher-id rows of the prepared corpus -> student ids (``lookup``) -> transformers' MLM masking."""

    def __init__(self, lookup: np.ndarray, tokenizer, seed: int):
        from transformers import DataCollatorForLanguageModeling

        self.lookup = np.asarray(lookup)
        self.mlm = DataCollatorForLanguageModeling(tokenizer, mlm_probability=MASK_PROB, seed=seed)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = self.mlm([{"input_ids": self.lookup[np.asarray(r["input_ids"])].tolist()} for r in rows])
        return {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}


class HeadTrainer(Trainer):
    """``Trainer`` for the head: cross-entropy at the masked positions, or KL to ``teacher`` there."""

    def __init__(self, *args, teacher: TeacherLM | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.teacher = teacher
        if teacher is not None:
            teacher.teacher.to(self.args.device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels, mask = inputs["labels"], inputs["attention_mask"]
        sel = labels.ne(-100)
        logits = model(inputs["input_ids"], mask, sel)
        if not sel.any():
            loss = logits.sum() * 0.0
        elif self.teacher is None:
            loss = F.cross_entropy(logits.float(), labels[sel])
        else:
            loss = restricted_kl(logits, self.teacher(inputs["input_ids"], mask, sel))
        return (loss, None) if return_outputs else loss


def head_arguments(p: Preset, out_dir: Path, bf16: bool = False) -> TrainingArguments:
    """The head's Trainer arguments: ``mlm_head_steps`` at ``mlm_head_lr`` (10 % warm-up), the relation
    run's batch, optimiser, seeds and chosen numerics (``bf16``: the relation run's choice, never the
    preset's "auto" string); no evaluation and no checkpoints (the head step is short)."""
    from zoo.distill.trainer import shared_arguments

    return TrainingArguments(
        output_dir=str(out_dir),
        max_steps=p.mlm_head_steps,
        per_device_train_batch_size=p.per_device_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps,
        learning_rate=p.mlm_head_lr,
        warmup_steps=p.mlm_head_steps // 10,
        lr_scheduler_type=p.lr_scheduler,
        optim=p.optim,
        weight_decay=p.weight_decay,
        max_grad_norm=p.max_grad_norm,
        bf16=bf16,
        eval_strategy="no",
        save_strategy="no",
        logging_steps=max(1, min(p.logging_steps, p.mlm_head_steps)),
        **shared_arguments(p),
    )


@dataclass
class Head:
    """The student with its head, and the head's record part (None on processes other than the main one)."""

    model: nn.Module
    part: MlmHeadPart | None


def add_mlm_head(job: Job, prep: Prepared, encoder: nn.Module, s_tok, main: bool, bf16: bool = False) -> Head:
    """Train (or reuse, see the module docstring) the head of the relation-distilled ``encoder``; every
    process calls it; the main one scores the head and publishes it in the run directory."""
    from zoo.distill.trainer import weights_digest

    p, done = job.preset, job.run_dir / HEAD_DIR
    if s_tok.mask_token_id is None:
        raise ZooError("the student tokenizer has no mask token", hint="--set mlm_head_steps=0 (no MLM head)")
    counts = corpus_counts(prep, s_tok)
    mlm = with_head(encoder, p.seed, counts)
    teacher = teacher_with_head(prep.t_info["path"])
    objective = "mlm-corpus" if teacher is None else "teacher-kl"
    signature = run_signature(
        encoder=weights_digest(encoder),
        objective=objective,
        teacher=prep.t_info["revision"],
        corpus=Path(prep.corpus.meta["cache"]).name,
        preset={k: v for k, v in p.as_dict().items() if k.startswith("mlm_") or k in _HEAD_FIELDS},
        processes=torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1,
    )
    if main:
        for partial in job.run_dir.glob(f".{HEAD_DIR}.*.partial"):  # left by a run killed while publishing
            shutil.rmtree(partial, ignore_errors=True)
    saved = _load_saved(done, signature, mlm)
    if saved is not None:
        say(f"MLM head: reusing the head trained before ({done})", main)
        return Head(mlm, saved)
    t0 = time.monotonic()
    say(f"MLM head: {p.mlm_head_steps} steps, objective {objective}, encoder frozen", main)
    teacher_lm = TeacherLM(teacher, prep.vocab.id_map) if teacher is not None else None
    trainer = HeadTrainer(
        model=MaskedPositionsLM(mlm),
        args=head_arguments(p, job.run_dir / "mlm-head-work", bf16),
        train_dataset=prep.corpus.train,
        data_collator=HeadCollator(prep.vocab.lookup(s_tok.unk_token_id), s_tok, p.seed),
        teacher=teacher_lm,
    )
    trainer.train()
    if not trainer.is_world_process_zero():
        return Head(mlm, None)
    heldout = evaluate_head(trainer.model.eval(), teacher_lm, prep, s_tok, p, counts, trainer.args.device)
    trained = {n: q for n, q in mlm.named_parameters() if q.requires_grad}
    part = MlmHeadPart(
        objective=objective,
        description=_DESCRIPTIONS[objective],
        encoder_frozen=not any(q.requires_grad for q in encoder.parameters()),
        decoder=DECODER,
        init=INIT,
        trained_parameters=sorted(trained),
        trained_parameter_count=sum(q.numel() for q in trained.values()),
        masking=MASKING,
        steps=trainer.state.global_step,
        batch_size=p.per_device_batch_size * p.gradient_accumulation_steps * trainer.args.world_size,
        learning_rate=p.mlm_head_lr,
        warmup_steps=trainer.args.warmup_steps,
        train_loss_curve=[(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h],
        heldout=heldout,
        wall_time_s=round(time.monotonic() - t0, 1),
    )
    _publish(done, signature, part, trained)
    say(
        f"MLM head: held-out accuracy {heldout.accuracy:.3f} (unigram {heldout.unigram_accuracy:.3f}), "
        f"pseudo-perplexity {heldout.pseudo_perplexity:.1f} (unigram {heldout.unigram_perplexity:.1f})"
    )
    return Head(mlm, part)


_DESCRIPTIONS = {
    "mlm-corpus": "masked-LM cross-entropy on the distillation corpus (the teacher has no MLM head)",
    "teacher-kl": "KL(teacher || student) at the masked positions, the teacher's masked-token distribution "
    "restricted to the kept pieces and renormalised",
}


def _publish(done: Path, signature: dict[str, Any], part: MlmHeadPart, trained: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    from zoo.fileio import atomic_dir, write_json_atomic

    with atomic_dir(done, overwrite=True) as tmp:
        tensors = {n: q.detach().cpu().contiguous() for n, q in trained.items()}
        save_file(tensors, str(tmp / "head.safetensors"))
        write_json_atomic(tmp / "head.json", {"signature": signature, "record": part.model_dump(mode="json")})


def _load_saved(done: Path, signature: dict[str, Any], mlm: nn.Module) -> MlmHeadPart | None:
    """The head published before with this ``signature``, loaded into ``mlm``; None when there is none."""
    from safetensors.torch import load_file

    meta = done / "head.json"
    if not meta.is_file():
        return None
    saved = json.loads(meta.read_text(encoding="utf-8"))
    if saved.get("signature") != signature:
        return None
    tensors = load_file(str(done / "head.safetensors"))
    result = mlm.load_state_dict(tensors, strict=False)
    trained = {n for n, q in mlm.named_parameters() if q.requires_grad}
    if result.unexpected_keys or trained - set(tensors):
        return None
    return MlmHeadPart.model_validate(saved["record"])
