"""Which numerics fine-tuning uses on this machine: fp32, or bf16 autocast where it trains faster.

``bf16: auto`` times a few training steps (forward + backward on one real batch) in fp32 and under bf16
autocast and keeps bf16 only when it is clearly faster (< 0.9x the fp32 time). CPUs differ: on Intel
Xeons with AMX bf16 matmul runs ~3.8x fp32, on CPUs without native bf16 (AMD Zen 5 here, Xeons without
AMX/AVX512-BF16) autocast is slower than fp32. The choice and its timings go into every record, and one
probe serves every run of the same model in a process.
"""

from __future__ import annotations

import time
from typing import Any

from zoo.errors import UsageError

_CHOICES: dict[tuple, dict[str, Any]] = {}


def _step(model, batch, bf16: bool) -> None:
    import torch

    device_type = "cuda" if next(model.parameters()).is_cuda else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    loss.backward()
    model.zero_grad(set_to_none=True)


def probe(model, batch, rounds: int = 3) -> dict[str, float]:
    """Seconds per training step in fp32 and under bf16 autocast: one warm-up step each, then ``rounds``
    alternating steps of both; the fastest step of each counts (the least disturbed by other load)."""
    times: dict[str, list[float]] = {"fp32_step_s": [], "bf16_step_s": []}
    was_training = model.training
    model.train()
    for bf16 in (False, True):
        _step(model, batch, bf16)
    for _ in range(rounds):
        for bf16 in (False, True):
            t0 = time.perf_counter()
            _step(model, batch, bf16)
            times["bf16_step_s" if bf16 else "fp32_step_s"].append(time.perf_counter() - t0)
    model.train(was_training)
    return {k: round(min(v), 4) for k, v in times.items()}


def choose(mode: str, model, batch_fn, key: tuple) -> dict[str, Any]:
    """``{"bf16": bool, "mode", ...timings}`` for ``mode`` in auto / on / off.

    ``batch_fn()`` builds the probe batch (only called for ``auto``); ``key`` identifies the model and batch
    shape, so that a process probes each model once.
    """
    if mode not in ("auto", "on", "off"):
        raise UsageError(f"bf16 must be auto, on or off, not {mode!r}")
    if mode != "auto":
        return {"bf16": mode == "on", "mode": mode}
    if key not in _CHOICES:
        times = probe(model, batch_fn())
        faster = times["bf16_step_s"] < 0.9 * times["fp32_step_s"]
        _CHOICES[key] = {"bf16": faster, "mode": "auto", **times}
    return dict(_CHOICES[key])
