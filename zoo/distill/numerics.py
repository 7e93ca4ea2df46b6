"""fp32 or bf16 autocast for distillation on the machine at hand (the preset's ``bf16``: true, false, "auto").

"auto" on a GPU: bf16 when ``torch.cuda.is_bf16_supported()``. On a CPU a probe times a few training steps
in fp32 and under bf16 autocast: the teacher's forward (in bf16 under autocast, as the Trainer runs it)
and the student's forward and backward through the relation loss, on one real batch of median length
(:func:`zoo.evaluation.numerics.probe`, the fine-tuning probe, reused: one warm-up step each, then
alternating rounds, the fastest step of each counts). bf16 is kept only when it is clearly faster
(:func:`zoo.evaluation.numerics.pick_bf16`, the fine-tuning rule): Intel CPUs with AMX run bf16 matmuls
several times faster, CPUs without native bf16 run autocast slower than fp32, so there bf16 is not timed at
all (:func:`zoo.evaluation.numerics.no_native_bf16`). Relations are fp32 either way
(:func:`zoo.distill.relation_loss.relation_kl` turns autocast off).

All processes of a run take the same choice (the slowest process's timings count), and a resumed run keeps
the choice of the session that started it (``numerics.json`` in the run directory), so every step of one
run uses the same numerics.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.distill.record import NumericsPart

NUMERICS_FILE = "numerics.json"
PROBE_ROUNDS = 2


def device_name() -> str:
    """The GPU's name where training runs on one, else the CPU model."""
    from zoo.results import environment

    env = environment()
    return env.get("gpu") or env["cpu"]


def choose(
    setting: bool | str,
    run_dir: Path,
    resuming: bool,
    probe: Callable[[bool], dict[str, float]],
    args,
) -> NumericsPart:
    """The numerics of this run for the preset's ``setting``; ``probe(bf16)`` times fp32 steps and, with
    ``bf16``, bf16 steps (``{"fp32": s, "bf16": s}``, CPU only); ``args`` are the TrainingArguments (process
    index, world)."""
    import torch

    from zoo.distill.stopping import agree
    from zoo.evaluation.numerics import BF16_MAX_TIME_RATIO, no_native_bf16, pick_bf16
    from zoo.fileio import write_json_atomic

    device = device_name()
    if setting != "auto":
        return NumericsPart(bf16=setting, chosen="bf16" if setting else "fp32", device=device,
                            probe_s_per_step=None, reason="set by the preset")  # fmt: skip
    saved = run_dir / NUMERICS_FILE
    if resuming and saved.is_file():
        kept = NumericsPart.model_validate_json(saved.read_text(encoding="utf-8"))
        return kept.model_copy(update={"reason": f"{kept.reason} (chosen by the run's first session)"})
    if torch.cuda.is_available():
        bf16 = bool(torch.cuda.is_bf16_supported())
        times, why = None, f"GPU {'supports' if bf16 else 'does not support'} bf16"
    else:
        skip = no_native_bf16()
        times = {k: round(agree(v, args), 4) for k, v in probe(skip is None).items()}
        bf16 = pick_bf16(times["fp32"], times.get("bf16"))
        if skip:
            why = f"probe: fp32 {times['fp32']:.3f} s/step; bf16 not probed: {skip}"
        else:
            why = (
                f"probe: bf16 autocast {times['bf16']:.3f} s/step vs fp32 {times['fp32']:.3f} s/step; "
                f"bf16 is kept only under {BF16_MAX_TIME_RATIO}x the fp32 time"
            )
    part = NumericsPart(bf16="auto", chosen="bf16" if bf16 else "fp32", probe_s_per_step=times,
                        device=device, reason=why)  # fmt: skip
    if args.process_index == 0:
        write_json_atomic(saved, part.model_dump(mode="json"))
    return part


def probe_steps(
    student, teacher, batch: dict[str, Any], teacher_layer: int, heads: int, bf16: bool = True,
    rounds: int = PROBE_ROUNDS,
) -> dict[str, float]:
    """Seconds per distillation step (``{"fp32": s, "bf16": s}``; fp32 alone without ``bf16``) of
    ``student`` against ``teacher`` on ``batch`` (a :class:`~zoo.distill.trainer.DistillationCollator`
    batch). Weights are left unchanged (no optimiser step; gradients are dropped), and so are the random
    number generators."""
    import torch

    from zoo.distill.relation_loss import QKVCapture, capture_qkv, relation_loss
    from zoo.evaluation.numerics import probe

    teacher.eval()
    teacher_bf16 = copy.deepcopy(teacher).to(torch.bfloat16) if bf16 else None
    t_caps = {False: QKVCapture(teacher, teacher_layer, stop_after=True)}
    if teacher_bf16 is not None:
        t_caps[True] = QKVCapture(teacher_bf16, teacher_layer, stop_after=True)
    s_cap = QKVCapture(student, -1)
    mask = batch["attention_mask"]

    def loss(model, b):
        bf16 = torch.is_autocast_enabled(mask.device.type)
        with torch.no_grad():
            t_qkv = capture_qkv(teacher_bf16 if bf16 else teacher, t_caps[bf16],
                                input_ids=b["teacher_input_ids"], attention_mask=mask)  # fmt: skip
        model(input_ids=b["input_ids"], attention_mask=mask)
        s_qkv = s_cap.qkv
        s_cap.clear()
        return relation_loss(t_qkv, s_qkv, mask, heads)

    try:
        times = probe(student, batch, rounds=rounds, loss=loss, bf16=bf16)
    finally:
        for cap in (*t_caps.values(), s_cap):
            cap.remove()
    return {k.removesuffix("_step_s"): v for k, v in times.items()}


def median_batch(dataset, collator, batch_size: int) -> dict[str, Any]:
    """A batch of ``batch_size`` rows of median length (training batches are grouped by length)."""
    lengths = list(dataset["length"])
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    start = max(0, len(order) // 2 - batch_size // 2)
    return collator([dataset[i] for i in order[start : start + batch_size]])
