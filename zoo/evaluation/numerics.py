"""Which numerics fine-tuning uses on this machine: fp32, or bf16 autocast where it trains faster.

``bf16: auto`` times a few training steps (forward + backward on one real batch) in fp32 and under bf16
autocast and keeps bf16 only when it is clearly faster (< 0.9x the fp32 time). CPUs differ: on Intel
Xeons with AMX bf16 matmul runs ~3.8x fp32, on an AMD EPYC with AVX512-BF16 (family 25 model 17) a
fine-tuning step ran 1.6-2.2x faster in bf16 autocast, and on CPUs without native bf16 (AVX2-only AMD EPYC,
Xeons without AMX/AVX512-BF16) autocast is slower than fp32. The choice and its timings go into every
record, and one probe serves every run of the same model in a process. The probe leaves the random number
generators as it found them, so a run trains the same whether or not its process probed.

Two shortcuts keep the probe cheap where bf16 cannot win: a CPU whose ``/proc/cpuinfo`` lists no native bf16
instructions (AVX512-BF16, AMX-BF16, Arm BF16) is not probed in bf16 at all (measured: autocast 20x slower
than fp32 on an AVX2-only AMD EPYC, slower on an AVX-512 Xeon without AVX512-BF16), and a probe stops after
its first timed round when bf16 already takes over twice the fp32 time (further rounds cannot close that gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import UsageError

_CHOICES: dict[tuple, dict[str, Any]] = {}
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX512-BF16 and AMX-BF16; Arm FEAT_BF16
BF16_MAX_TIME_RATIO = 0.9  # bf16 is kept only under this x the fp32 step time (fine-tuning and distillation)
BF16_HOPELESS_RATIO = 2.0  # after one timed round, bf16 slower than this x fp32 ends the probe


def pick_bf16(fp32_s: float, bf16_s: float | None) -> bool:
    """Whether bf16 autocast wins: it was timed (``bf16_s`` not None) and its step time is under
    :data:`BF16_MAX_TIME_RATIO` x fp32's (a tie within that margin keeps full precision)."""
    return bf16_s is not None and bf16_s < BF16_MAX_TIME_RATIO * fp32_s


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The native bf16 instruction flags the CPU lists (x86 ``flags``, Arm ``Features``), or None where
    ``cpuinfo`` cannot be read (not Linux): then nothing is known and the probe times bf16 too."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    words: set[str] = set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() in ("flags", "features"):
            words.update(value.split())
    return words & set(NATIVE_BF16_FLAGS)


def no_native_bf16() -> str | None:
    """Why bf16 is not worth trying on this CPU (recorded where it is left out: the probes, ``zoo bench``'s
    default runtimes), or None where the CPU lists native bf16 instructions or cannot be read."""
    if cpu_bf16_flags() == set():
        return (
            f"the CPU lists no native bf16 instructions ({', '.join(NATIVE_BF16_FLAGS)}) in /proc/cpuinfo, "
            "where bf16 autocast runs slower than fp32"
        )
    return None


def _output_loss(model, batch):
    return model(**batch)["loss"]


def _step(model, batch, bf16: bool, loss_fn: Callable) -> None:
    import torch

    device_type = "cuda" if next(model.parameters()).is_cuda else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        loss = loss_fn(model, batch)
    loss.backward()
    model.zero_grad(set_to_none=True)


def probe(
    model, batch, rounds: int = 3, loss: Callable = _output_loss, bf16: bool = True
) -> dict[str, float]:
    """Seconds per training step in fp32 and (``bf16``) under bf16 autocast: one warm-up step each, then up
    to ``rounds`` alternating steps of both; the fastest step of each counts (the least disturbed by other
    load). Stops after the first round when bf16 takes over :data:`BF16_HOPELESS_RATIO` x fp32.
    ``loss(model, batch)`` is the head's loss (default: the model output's ``loss``)."""
    import torch

    kinds = (False, True) if bf16 else (False,)
    times: dict[str, list[float]] = {("bf16_step_s" if k else "fp32_step_s"): [] for k in kinds}
    was_training = model.training
    model.train()
    first = next(model.parameters())
    cuda = [first.device.index or 0] if first.is_cuda else []
    with torch.random.fork_rng(devices=cuda):  # dropout in the probe must not shift the run's random stream
        for kind in kinds:
            _step(model, batch, kind, loss)
        for _ in range(rounds):
            for kind in kinds:
                t0 = time.perf_counter()
                _step(model, batch, kind, loss)
                times["bf16_step_s" if kind else "fp32_step_s"].append(time.perf_counter() - t0)
            if bf16 and min(times["bf16_step_s"]) > BF16_HOPELESS_RATIO * min(times["fp32_step_s"]):
                break
    model.train(was_training)
    return {k: round(min(v), 4) for k, v in times.items()}


def choose(mode: str, model, batch_fn, key: tuple, loss: Callable = _output_loss) -> dict[str, Any]:
    """``{"bf16": bool, "mode", ...timings}`` for ``mode`` in auto / on / off.

    ``batch_fn()`` builds the probe batch (only called for ``auto``); ``key`` identifies the model and batch
    shape, so that a process probes each model once; ``loss(model, batch)`` is the head's loss.
    """
    if mode not in ("auto", "on", "off"):
        raise UsageError(f"bf16 must be auto, on or off, not {mode!r}")
    if mode != "auto":
        return {"bf16": mode == "on", "mode": mode}
    if key not in _CHOICES:
        skip = None if next(model.parameters()).is_cuda else no_native_bf16()
        times = probe(model, batch_fn(), loss=loss, bf16=skip is None)
        faster = pick_bf16(times["fp32_step_s"], times.get("bf16_step_s"))
        _CHOICES[key] = {"bf16": faster, "mode": "auto", **times}
        if skip:
            _CHOICES[key]["bf16_skipped"] = f"not probed: {skip}"
    return dict(_CHOICES[key])
