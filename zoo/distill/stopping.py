"""When a distillation run stops, and why: the step budget, a plateau of the held-out loss, a wall-clock cap.

- The budget (:func:`budget_steps`) is the smaller of the preset's ``max_steps`` and ``max_epochs`` epochs
  of the training sequences; the Trainer gets it as ``max_steps``, so the learning-rate schedule decays
  over it. With ``fit_budget_to_cap`` (:func:`fit_to_cap`) the budget is cut, once, to the steps that fit
  in the wall-clock cap at the probed step time, so the schedule decays to its end before the cap.
- A plateau is transformers' :class:`~transformers.EarlyStoppingCallback` (reused as is): ``patience``
  held-out evaluations in a row whose loss is not lower than the best by more than ``min_delta``. Its
  counter is saved in every checkpoint and restored on resume.
- The cap (:class:`WallClockCap`) stops once the wall time of all the run's sessions (the earlier ones
  from ``sessions.json``, preparation included) reaches ``max_wall_s``, evaluating and saving that step
  so the best checkpoint is kept. transformers has no wall-clock stop.

:func:`stop_reason` names the reason (one rule for a run that just stopped and for a rerun that finds its
run already stopped, :func:`finished_reason`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Literal

from transformers import EarlyStoppingCallback, TrainerCallback

from zoo.distill.presets import Preset

StopReason = Literal["plateau", "budget", "cap"]
_EARLY = EarlyStoppingCallback.__name__


def steps_per_epoch(train_sequences: int, batch_size: int, processes: int, accumulation: int = 1) -> int:
    """Optimiser steps in one pass over ``train_sequences`` (each process takes every ``processes``-th
    batch of ``batch_size``; the last, partial batch counts)."""
    batches = math.ceil(math.ceil(train_sequences / batch_size) / processes)
    return max(1, batches // accumulation)


def budget_steps(p: Preset, train_sequences: int, processes: int) -> int:
    """The run's step budget: the smaller of ``max_steps`` and ``max_epochs`` epochs (whichever are set)."""
    accumulation = p.gradient_accumulation_steps
    per_epoch = steps_per_epoch(train_sequences, p.per_device_batch_size, processes, accumulation)
    budgets = [] if p.max_steps is None else [p.max_steps]
    if p.max_epochs is not None:
        budgets.append(max(1, math.ceil(p.max_epochs * per_epoch)))
    return min(budgets)


BUDGET_FILE = "budget.json"
FIT_MARGIN = 0.8  # the probe times the fastest step on a median batch; evaluations and saves cost time too


def fit_to_cap(
    p: Preset, budget: int, s_per_step: float | None, elapsed_s: float, run_dir: Path, resuming: bool,
    main: bool,
) -> tuple[int, str | None]:  # fmt: skip
    """The budget cut to what fits in ``p.max_wall_s`` (``FIT_MARGIN`` x the time left after ``elapsed_s``,
    divided by ``s_per_step``, the probe's time of the chosen numerics), and a note saying how. The run's
    first session decides and keeps it in ``budget.json``, so a resumed run keeps its schedule. Unchanged
    without ``fit_budget_to_cap``, a cap or a probed step time."""
    from zoo.fileio import write_json_atomic

    if not p.fit_budget_to_cap or p.max_wall_s is None:
        return budget, None
    saved = run_dir / BUDGET_FILE
    if resuming and saved.is_file():
        kept = json.loads(saved.read_text(encoding="utf-8"))
        return int(kept["budget"]), str(kept["note"])
    if not s_per_step:
        return budget, "not fitted to the wall cap: no probed step time (bf16: auto probes it)"
    fits = max(1, math.floor(FIT_MARGIN * max(0.0, p.max_wall_s - elapsed_s) / s_per_step))
    if fits >= budget:
        note = f"the budget fits in the wall cap ({fits:,} steps would at {s_per_step:.2f} s a step)"
    else:
        note = (
            f"cut from {budget:,} to {fits:,} steps to fit in the wall cap: {FIT_MARGIN} x "
            f"{p.max_wall_s - elapsed_s:,.0f} s left / {s_per_step:.2f} s a step (probe)"
        )
    budget = min(budget, fits)
    if main:
        write_json_atomic(saved, {"budget": budget, "note": note})
    return budget, note


def stop_reason(
    step: int,
    budget: int,
    without_improvement: int,
    patience: int | None,
    wall_s: float,
    max_wall_s: float | None,
) -> StopReason | None:
    """Why a run at ``step`` is over (None: it is not). When several hold at once, a plateau is named
    first (the loss stopped improving whatever else ended the run), then the budget."""
    if patience is not None and without_improvement >= patience:
        return "plateau"
    if step >= budget:
        return "budget"
    if max_wall_s is not None and wall_s >= max_wall_s:
        return "cap"
    return None


def without_improvement(stateful_callbacks: dict[str, Any] | None) -> int:
    """Held-out evaluations in a row without improvement, from a ``TrainerState``'s ``stateful_callbacks``
    (the early-stopping counter as the last checkpoint saved it); 0 without early stopping."""
    saved = (stateful_callbacks or {}).get(_EARLY)
    if isinstance(saved, list):
        saved = saved[-1] if saved else None
    return int(saved["attributes"]["early_stopping_patience_counter"]) if saved else 0


def finished_reason(checkpoint: Path, p: Preset, budget: int, prior_wall_s: float) -> StopReason | None:
    """Why the run whose last checkpoint is ``checkpoint`` is already over (None: train on from it)."""
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    counter = without_improvement(state.get("stateful_callbacks"))
    return stop_reason(state["global_step"], budget, counter, p.patience, prior_wall_s, p.max_wall_s)


def agree(value: float, args) -> float:
    """The largest ``value`` over the run's processes (so that all of them take the same decision)."""
    import torch
    import torch.distributed as dist

    if args.world_size > 1 and dist.is_available() and dist.is_initialized():
        t = torch.tensor([float(value)], dtype=torch.float64, device=args.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())
    return value


def callbacks(p: Preset, prior_wall_s: float, started: float) -> list[TrainerCallback]:
    """The Trainer callbacks that stop ``p``'s run early: early stopping and the wall-clock cap."""
    out: list[TrainerCallback] = []
    if p.patience is not None:
        out.append(EarlyStoppingCallback(p.patience, p.min_delta))
    if p.max_wall_s is not None:
        out.append(WallClockCap(p.max_wall_s, prior_wall_s, started))
    return out


class WallClockCap(TrainerCallback):
    """Stop training once ``prior_wall_s`` (the run's earlier sessions) plus the time since ``started``
    (``time.monotonic()`` when this session began) reaches ``max_wall_s``; that step is evaluated and
    saved. Processes agree through :func:`agree` (only the main process knows the earlier sessions)."""

    def __init__(self, max_wall_s: float, prior_wall_s: float, started: float):
        self.max_wall_s = max_wall_s
        self.prior_wall_s = prior_wall_s
        self.started = started
        self.stopped_at_s: float | None = None

    def wall_s(self) -> float:
        return self.prior_wall_s + time.monotonic() - self.started

    def on_step_end(self, args, state, control, **kwargs):
        total = agree(self.wall_s(), args)
        if total >= self.max_wall_s:
            self.stopped_at_s = total
            control.should_training_stop = True
            control.should_evaluate = True
            control.should_save = True
        return control
