"""``DistillationTrainer``: HF ``Trainer`` with the MiniLMv2 relation loss from a frozen teacher.

Batches carry the teacher's token ids; :class:`DistillationCollator` pads them and maps them through the
vocabulary id map to the student's ids (same length, same positions). The loss of a batch is the
relation loss of teacher layer ``L`` against the student's last layer, normalised by that batch's real
tokens (under DDP each rank normalises by its own tokens and gradients are averaged), plus, with
``hidden_loss_weight`` > 0, the hidden-state term of :mod:`zoo.distill.hidden_loss` (the teacher then runs
through its layer ``L`` and stops after it, instead of stopping at that layer's Q/K/V).

The held-out loss that selects the checkpoint is the Trainer's ``eval_loss``: the mean of the batch losses
weighted by batch size. With ``group_by_length`` the evaluation batches are length-grouped too (DESIGN §5),
but with a fixed seed, so every evaluation sees the same batches and the numbers compare across steps.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler

from zoo.distill.hidden_loss import MAP_NAME, LayerOutputCapture, hidden_mse
from zoo.distill.presets import Preset
from zoo.distill.relation_loss import QKVCapture, capture_qkv, relation_loss
from zoo.fileio import write_json_atomic


class DistillationCollator:
    """Pad teacher ids; add the student ids mapped through ``lookup`` (teacher id -> student id)."""

    def __init__(self, lookup: np.ndarray, teacher_pad_id: int, student_pad_id: int):
        self.lookup = torch.as_tensor(lookup, dtype=torch.long)
        self.teacher_pad_id = teacher_pad_id
        self.student_pad_id = student_pad_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        n = max(len(r["input_ids"]) for r in rows)
        teacher = torch.full((len(rows), n), self.teacher_pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for i, r in enumerate(rows):
            teacher[i, : len(r["input_ids"])] = torch.as_tensor(r["input_ids"], dtype=torch.long)
            mask[i, : len(r["input_ids"])] = 1
        student = torch.where(mask.bool(), self.lookup[teacher], self.student_pad_id)
        return {
            "input_ids": student,
            "attention_mask": mask,
            "teacher_input_ids": teacher,
            "idx": torch.as_tensor([int(r["idx"]) for r in rows], dtype=torch.long),
        }


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """``LengthGroupedSampler`` whose shuffle is seeded by ``data_seed`` and the epoch, not by torch's global
    RNG. The Trainer's own sampler draws from the global RNG when the epoch starts, and that state differs
    between a fresh run (which evaluates at step 0 first) and a resumed one, so a resumed run would see other
    batches than the uninterrupted run it continues. ``set_epoch`` is called by accelerate's data loader."""

    def __init__(self, *args, seed: int, **kwargs):
        super().__init__(*args, generator=torch.Generator(), **kwargs)
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


class DistillationTrainer(Trainer):
    """``Trainer`` whose loss is the relation loss between a frozen teacher and the student being trained.

    ``teacher_layer`` is 1-based; ``relation_heads`` must divide both hidden sizes. With ``rank_log`` set,
    each rank appends to that JSON-lines file the corpus indices of each training batch and, after the last
    optimiser step, a sha256 of its weights: data-parallel ranks must see different batches and end equal.
    """

    def __init__(
        self,
        *args,
        teacher: torch.nn.Module,
        teacher_layer: int,
        relation_heads: int,
        rank_log: Path | None = None,
        hidden_loss_weight: float = 0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.teacher = teacher.eval().requires_grad_(False)
        if self.args.bf16:
            self.teacher.to(torch.bfloat16)
        self.relation_heads = relation_heads
        self.hidden_loss_weight = hidden_loss_weight
        hidden = hidden_loss_weight > 0
        self.teacher_capture = QKVCapture(self.teacher, teacher_layer, stop_after=not hidden)
        self.teacher_output = (
            LayerOutputCapture(self.teacher, teacher_layer, stop_after=True) if hidden else None
        )
        self.student_capture = QKVCapture(self.model, -1)
        self.rank_log = rank_log
        self._eval_sums: torch.Tensor | None = None  # held-out [rows, rows x relation, rows x hidden MSE]
        if rank_log is not None:
            self.add_callback(_FinalWeightsDigest(self))

    def _get_train_sampler(self, train_dataset=None):
        """Length-grouped batches in an order fixed by ``data_seed`` and the epoch (resumable; see
        :class:`SeededLengthGroupedSampler`); other strategies are the Trainer's."""
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            dataset=dataset,
            lengths=dataset[self.args.length_column_name],
            seed=seed,
        )

    def _teacher_on(self, device: torch.device) -> None:
        if next(self.teacher.parameters()).device != device:
            self.teacher.to(device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """Relation loss (Q-Q + K-K + V-V) of teacher layer L vs. the student's last layer (+ the weighted
        hidden-state MSE when it is on)."""
        mask = inputs["attention_mask"]
        idx = inputs.get("idx")
        self._teacher_on(mask.device)
        with torch.no_grad():
            t_qkv = capture_qkv(
                self.teacher, self.teacher_capture, input_ids=inputs["teacher_input_ids"], attention_mask=mask
            )
        outputs = model(input_ids=inputs["input_ids"], attention_mask=mask)
        s_qkv = self.student_capture.qkv
        self.student_capture.clear()
        loss = relation_loss(t_qkv, s_qkv, mask, self.relation_heads)
        if self.teacher_output is not None:
            map_ = getattr(self.model, MAP_NAME, None)  # the unwrapped student's (DDP reduces its grads too)
            mse = hidden_mse(outputs.last_hidden_state, self.teacher_output.hidden, mask, map_)
            if not model.training and self._eval_sums is not None:
                n = mask.shape[0]
                self._eval_sums += torch.stack([torch.tensor(float(n)), n * loss.detach().float().cpu(),
                                                n * mse.detach().float().cpu()])  # fmt: skip
            loss = loss + self.hidden_loss_weight * mse
        if self.rank_log is not None and model.training and idx is not None:
            self.log_rank({"step": self.state.global_step, "idx": idx.tolist()})
        return (loss, outputs) if return_outputs else loss

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        """The Trainer's loop; with the hidden-state loss on, its metrics also get the two terms of the
        held-out loss apart (``<prefix>_relation_loss``, ``<prefix>_hidden_mse``, batch-size weighted like
        ``eval_loss``), so that runs with and without the term compare on the relation loss."""
        self._eval_sums = torch.zeros(3, dtype=torch.float64) if self.teacher_output is not None else None
        output = super().evaluation_loop(
            dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix
        )
        if self._eval_sums is not None and self._eval_sums[0] > 0:
            rows, relation, mse = self.accelerator.reduce(self._eval_sums.to(self.args.device), "sum").cpu()
            output.metrics[f"{metric_key_prefix}_relation_loss"] = float(relation / rows)
            output.metrics[f"{metric_key_prefix}_hidden_mse"] = float(mse / rows)
        self._eval_sums = None
        return output

    def log_rank(self, entry: dict[str, Any]) -> None:
        with open(self.rank_log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"rank": self.args.process_index, **entry}) + "\n")

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        """Evaluation: the held-out relation loss only (there are no labels or logits)."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over the names and bytes of all parameters (identical models give identical digests)."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class _FinalWeightsDigest(TrainerCallback):
    """After the last optimiser step (before the best checkpoint is reloaded) log the rank's weight digest."""

    def __init__(self, trainer: DistillationTrainer):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            self.trainer.log_rank(
                {"final_step": state.global_step, "weights_sha256": weights_digest(self.trainer.model)}
            )


class SessionLogCallback(TrainerCallback):
    """Record each training session (start, step it resumed from, last step, elapsed seconds) in a JSON file,
    updated at every log and save, so killed sessions count too. Main process only. ``started`` is the
    ``time.monotonic()`` the session's elapsed time counts from (default: now; ``zoo distill`` passes its
    own start, so preparation counts)."""

    def __init__(self, path: Path, resumed_from_step: int, started: float | None = None):
        self.path = Path(path)
        self.sessions = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else []
        self.t0 = time.monotonic() if started is None else started
        since = datetime.timedelta(seconds=time.monotonic() - self.t0)
        began = datetime.datetime.now(datetime.timezone.utc) - since
        self.current = {
            "started": began.isoformat(timespec="seconds"),
            "resumed_from_step": resumed_from_step,
            "last_step": resumed_from_step,
            "elapsed_s": 0.0,
        }
        self.sessions.append(self.current)

    @property
    def prior_s(self) -> float:
        """Seconds of the run's earlier sessions (as far as each recorded them)."""
        return sum(s["elapsed_s"] for s in self.sessions[:-1])

    def _write(self, state) -> None:
        if not state.is_world_process_zero:
            return
        self.current["last_step"] = state.global_step
        self.current["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        write_json_atomic(self.path, self.sessions)

    def on_log(self, args, state, control, **kwargs):
        self._write(state)

    def on_save(self, args, state, control, **kwargs):
        self._write(state)

    def on_train_end(self, args, state, control, **kwargs):
        self._write(state)


def training_arguments(
    p: Preset, run_dir: Path, bf16: bool | None = None, max_steps: int | None = None
) -> TrainingArguments:
    """The Trainer's arguments for preset ``p``: checkpoints in ``run_dir`` every ``eval_steps``, the best
    by held-out relation loss loaded at the end, callback states (the early-stopping counter) restored on
    resume; without a GPU, several processes train on CPU (gloo). ``bf16`` (default: ``p.bf16 is True``) is
    the chosen numerics, ``max_steps`` (default: ``p.max_steps``) the step budget."""
    return TrainingArguments(
        output_dir=str(run_dir),
        max_steps=max_steps or p.max_steps or -1,
        per_device_train_batch_size=p.per_device_batch_size,
        per_device_eval_batch_size=p.eval_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps,
        learning_rate=p.learning_rate,
        optim=p.optim,
        weight_decay=p.weight_decay,
        warmup_steps=p.warmup_steps,
        lr_scheduler_type=p.lr_scheduler,
        max_grad_norm=p.max_grad_norm,
        bf16=(p.bf16 is True) if bf16 is None else bf16,
        eval_strategy="steps",
        eval_steps=p.eval_steps,
        save_strategy="steps",
        save_steps=p.eval_steps,
        save_total_limit=p.save_total_limit,
        load_best_model_at_end=True,
        restore_callback_states_from_checkpoint=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=p.logging_steps,
        include_num_input_tokens_seen="non_padding",
        **shared_arguments(p),
    )


def shared_arguments(p: Preset) -> dict[str, Any]:
    """The Trainer arguments the relation run and the MLM-head step share: logging, seeds, length-grouped
    sampling, workers, CPU/GPU placement (several CPU processes train with gloo)."""
    return {
        "logging_strategy": "steps",
        "logging_first_step": True,
        "report_to": "none",
        "seed": p.seed,
        "data_seed": p.data_seed,
        "train_sampling_strategy": p.sampling,
        "length_column_name": "length",
        "remove_unused_columns": False,
        "dataloader_num_workers": p.dataloader_workers,
        "ddp_find_unused_parameters": False,
        "use_cpu": not torch.cuda.is_available(),
        "dataloader_pin_memory": torch.cuda.is_available(),
    }
