"""What ``zoo bench`` measures: the protocol's knobs (:class:`BenchConfig`: runtimes, sequence length, batch
sizes, threads, device, dtype, timing budget), the setting each record is filed under, which models are
timed (:func:`bench_models`), and how worker threads wait (:func:`decide_spin`, :func:`setup_threads`).

A record's ``task`` is ``{"name": "speed-L<seq_len>-<device>[-t<threads>]", "family": "speed", "version": 1,
"seq_len", "device", "threads", "dtype"}``: the setting is in the name so that runs at other lengths, devices
or thread counts get their own record instead of colliding (``--quick`` runs are ``speed-quick-...`` so they
never stand in for a full protocol run).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zoo.bench.protocol import n_cpus, probe_load
from zoo.errors import UsageError
from zoo.models import (
    CONSTANT_BASELINE_ID,
    SHAPE_BASELINES,
    ModelRef,
    resolve_model,
    resolve_models,
    shape_baseline_ref,
    student_dir,
    teacher_ref,
    xs_shape_ref,
)
from zoo.registry import LanguageSpec

TASK_VERSION = 1


@dataclass
class BenchConfig:
    """How to benchmark (the protocol's knobs)."""

    runtimes: tuple[str, ...] = ("eager", "onnx-fp32", "onnx-int8")
    seq_len: int = 32
    batch_sizes: tuple[int, ...] = (1, 8, 32, 128)
    threads: int = field(default_factory=n_cpus)
    device: str = "cpu"
    dtype: str = "fp32"
    warmup: int = 3
    min_batches: int = 30
    min_seconds: float = 2.0  # and at least this long per window (load meters count 10 ms ticks)
    point_budget_s: float = 120.0  # skip a batch size whose >= min_batches would take longer than this
    quick: bool = False
    tdp_watts: float | None = None
    roofline: bool = True
    spin: bool | None = None  # worker threads spin-wait between ops; None = decide from the load at start
    thread_policy: dict[str, Any] | None = None  # what decide_spin() decided (set before torch loads)

    @classmethod
    def quick_preset(cls, **kw) -> BenchConfig:
        """A fast smoke run: few batches, small sweep (recorded as ``speed-quick``; not the full protocol)."""
        base = {
            "batch_sizes": (1, 8),
            "warmup": 1,
            "min_batches": 5,
            "min_seconds": 0.3,
            "point_budget_s": 20.0,
            "quick": True,
        }
        return cls(**{**base, **kw})

    def protocol(self) -> dict[str, Any]:
        """The timing protocol as every bench record states it."""
        return {
            "warmup_batches": self.warmup,
            "min_timed_batches": self.min_batches,
            "statistic": "median over batches",
            "interval": "percentile bootstrap, 2000 resamples, seed 0",
            "quick": self.quick,
            "point_budget_s": self.point_budget_s,
        }

    def task(self) -> dict[str, Any]:
        """The ``task`` of this setting's records."""
        dev = self.device.split(":")[0]
        name = f"speed{'-quick' if self.quick else ''}-L{self.seq_len}-{dev}"
        name += f"-t{self.threads}" if dev == "cpu" else ""
        name += f"-{self.dtype}" if self.dtype != "fp32" else ""
        return {
            "name": name,
            "family": "speed",
            "version": TASK_VERSION,
            "seq_len": self.seq_len,
            "device": dev,
            "threads": self.threads,
            "dtype": self.dtype,
        }

    def validate(self) -> None:
        if self.seq_len < 4 or self.seq_len > 4096:
            raise UsageError(
                f"--seq-len {self.seq_len} is out of range", hint="use 4..4096 tokens, e.g. 32 or 128"
            )
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise UsageError("--batch-sizes must be positive integers, e.g. 1,8,32,128")
        if self.threads < 1:
            raise UsageError("--threads must be at least 1")
        if self.min_batches < 1 or self.warmup < 0:
            raise UsageError("--min-batches must be >= 1 and --warmup >= 0")
        if self.dtype not in ("fp32", "fp16", "bf16"):
            raise UsageError(f"unknown --dtype '{self.dtype}'", hint="fp32, fp16 or bf16")


# --------------------------------------------------------------------------------------------------
# which models


def bench_models(spec: LanguageSpec, model_args: Sequence[str] | None = None) -> list[ModelRef]:
    """The models to time.

    Default: the language's distilled students, the teacher, an xs-shaped random student when no xs student
    exists, and the shape baselines (XLM-R base/large, mBERT). ``model_args`` may name ``teacher``,
    ``students``, a student id (``time-xh-xs``), a size (``xs``), ``shape/<name>`` (one of
    :data:`zoo.models.SHAPE_BASELINES` or ``time-xs``), a checkpoint directory or a Hub id. The constant
    baseline has no weights: it is never timed, and naming it (``constant``) is an error.
    """
    teacher: ModelRef | None = None

    def get_teacher() -> ModelRef:
        nonlocal teacher
        teacher = teacher or teacher_ref(spec)
        return teacher

    if not model_args:
        refs = resolve_model(spec, "students")
        if not (student_dir(spec.code, "xs") / "config.json").is_file():
            refs.append(xs_shape_ref(get_teacher().path))
        refs.append(get_teacher())
        refs += [shape_baseline_ref(n, get_teacher().path) for n in SHAPE_BASELINES]
        return refs
    for arg in model_args:
        if arg == CONSTANT_BASELINE_ID:
            raise UsageError(
                "the constant baseline has no weights to time",
                hint="it is evaluated only: zoo eval --model constant",
            )
    return resolve_models(spec, model_args)


# --------------------------------------------------------------------------------------------------
# worker threads


def decide_spin(spin: bool | None, device: str = "cpu") -> dict[str, Any]:
    """Whether worker threads may spin-wait, and why (a dict for the records); sets
    ``OMP_WAIT_POLICY=PASSIVE`` when they may not.

    Spinning worker threads are fastest on an idle machine but collapse when other processes compete
    for the cores (a 2-layer model took 420 ms instead of 5 ms per batch with OpenMP's active wait on a
    busy 2-CPU machine). With ``spin`` None a one-second probe decides: no spinning when the machine is
    busy. OpenMP reads ``OMP_WAIT_POLICY`` once, when torch loads: call this before importing torch
    (``omp_policy_effective`` records whether that was so). ONNX Runtime gets it per session.
    """
    import sys

    torch_loaded = "torch" in sys.modules
    decided = "given"
    if spin is None and not device.startswith("cuda"):
        probe = probe_load(1.0)
        spin = not probe.busy
        decided = f"auto: other processes used {probe.foreign_cpus or 0:.2f} of {probe.cpus} CPUs at start"
    elif spin is None:
        spin, decided = True, "auto: GPU run"
    if not spin:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return {
        "spin": spin,
        "decided": decided,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY") or "default (active spin, then sleep)",
        "omp_policy_effective": spin or not torch_loaded,
        "ort_allow_spinning": spin,
    }


def setup_threads(threads: int) -> None:
    """Fix torch's thread count (ONNX Runtime gets it per session)."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
