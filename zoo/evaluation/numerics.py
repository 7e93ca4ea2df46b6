"""Which numerics fine-tuning uses on this machine: fp32, or bf16 autocast where it trains faster.

``bf16: auto`` times a few training steps (forward + backward on one real batch) in fp32 and under bf16
autocast and keeps bf16 only when it is clearly faster (< 0.9x the fp32 time). CPUs differ: on Intel
Xeons with AMX bf16 matmul runs ~3.8x fp32, on CPUs without native bf16 (AMD Zen 5 here, Xeons without
AMX/AVX512-BF16) autocast is slower than fp32. The choice and its timings go into every record, and one
probe serves every run of the same model in a process. The probe leaves the random number generators as
it found them, so a run trains the same whether or not its process probed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from zoo.errors import UsageError

_CHOICES: dict[tuple, dict[str, Any]] = {}


def _output_loss(model, batch):
    return model(**batch)["loss"]


def _step(model, batch, bf16: bool, loss_fn: Callable) -> None:
    import torch

    device_type = "cuda" if next(model.parameters()).is_cuda else "cpu"
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        loss = loss_fn(model, batch)
    loss.backward()
    model.zero_grad(set_to_none=True)


def probe(model, batch, rounds: int = 3, loss: Callable = _output_loss) -> dict[str, float]:
    """Seconds per training step in fp32 and under bf16 autocast: one warm-up step each, then ``rounds``
    alternating steps of both; the fastest step of each counts (the least disturbed by other load).
    ``loss(model, batch)`` is the head's loss (default: the model output's ``loss``)."""
    import torch

    times: dict[str, list[float]] = {"fp32_step_s": [], "bf16_step_s": []}
    was_training = model.training
    model.train()
    first = next(model.parameters())
    cuda = [first.device.index or 0] if first.is_cuda else []
    with torch.random.fork_rng(devices=cuda):  # dropout in the probe must not shift the run's random stream
        for bf16 in (False, True):
            _step(model, batch, bf16, loss)
        for _ in range(rounds):
            for bf16 in (False, True):
                t0 = time.perf_counter()
                _step(model, batch, bf16, loss)
                times["bf16_step_s" if bf16 else "fp32_step_s"].append(time.perf_counter() - t0)
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
        times = probe(model, batch_fn(), loss=loss)
        faster = times["bf16_step_s"] < 0.9 * times["fp32_step_s"]
        _CHOICES[key] = {"bf16": faster, "mode": "auto", **times}
    return dict(_CHOICES[key])
