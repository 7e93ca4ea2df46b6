"""When a distillation run stops, and why: the step budget, a plateau of the held-out loss, a wall-clock cap.

- The budget (:func:`budget_steps`) is the smaller of the preset's ``max_steps`` and ``max_epochs`` epochs
  of the training sequences; the Trainer gets it as ``max_steps``, so the learning-rate schedule decays
  over it. With ``fit_budget_to_cap`` (:func:`fit_to_cap`) the budget is cut, once, to the steps that fit
  in the wall-clock cap at the probed step time, so the schedule decays to its end before the cap; at
  each checkpoint step :class:`BudgetRefit` fits it again from the step time measured in training (the
  Trainer is then planned for the uncut budget and given the fitted one as training begins:
  :func:`refits_budget`).
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

import functools
import json
import math
import time
from dataclasses import dataclass
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


def refits_budget(p: Preset) -> bool:
    """Whether :class:`BudgetRefit` fits ``p``'s budget to its wall-clock cap during training. The Trainer is
    then planned for the uncut budget (it stops at the end of its last planned epoch) and told the fitted one
    at the start of each session, so that a refit may raise a cut budget back up to the uncut one, in a
    resumed session too (planned for a budget cut below one epoch, a resumed session could not go past it)."""
    return p.fit_budget_to_cap and p.max_wall_s is not None


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

    if not refits_budget(p):
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


@dataclass
class RefitPlan:
    """What :class:`BudgetRefit` needs besides the cap: the most steps it may raise the budget to (the uncut
    budget, which the Trainer plans for: :func:`refits_budget`), the run directory (``budget.json``), whether
    this is the main process, the first fit's note (:func:`fit_to_cap`), which the refit's note extends, and
    the budget this session starts with (set on the Trainer's state when training begins; None: as
    planned)."""

    ceiling: int
    run_dir: Path
    main: bool
    fit_note: str | None
    budget: int | None = None


def callbacks(
    p: Preset, prior_wall_s: float, started: float, refit: RefitPlan | None = None
) -> list[TrainerCallback]:
    """The Trainer callbacks that stop ``p``'s run early: early stopping and the wall-clock cap; with
    ``refit`` the budget is fitted again to the cap at each checkpoint step (:class:`BudgetRefit`)."""
    out: list[TrainerCallback] = []
    if p.patience is not None:
        out.append(EarlyStoppingCallback(p.patience, p.min_delta))
    if p.max_wall_s is not None:
        cap = WallClockCap(p.max_wall_s, prior_wall_s, started)
        out.append(cap)
        if refit is not None and p.fit_budget_to_cap:
            out.append(BudgetRefit(cap, p.eval_steps, refit))
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


REFIT_MARGIN = 0.9  # the measured step time includes evaluations and saves; the margin is for the last ones
REFIT_TOLERANCE = 0.1  # a refit after the first changes the budget only by more than this share of it
# the share of a session's steps before the refit step left untimed: lazy starts, allocation, kernel choice
WARMUP_SHARE = 0.2


class BudgetRefit(TrainerCallback):
    """Fit the budget to the wall cap again at every checkpoint step from ``at_step`` (the first) on, from
    the step time measured since the last one, and re-space the learning-rate schedule over the new budget.

    The probe (:func:`fit_to_cap`) times the fastest step of one median-length batch without the optimiser,
    evaluations and saves: on a 2-core AMD EPYC it said 1.49 s a step where quiet training took 2.5 s, so
    the cap stopped the run at 70 % of its fitted budget (README "Session 8"). A refit may cut the budget
    or raise it up to ``ceiling`` (the uncut budget, which the Trainer plans for). The first one
    (at ``at_step``) applies any change; later ones only a change of more than :data:`REFIT_TOLERANCE` of
    the budget, so the schedule is not re-spaced for noise. Each is kept in ``budget.json`` before the
    checkpoint of its step is saved, so a resumed run builds the schedule of its checkpoint or a later one.

    A session's first steps are not timed (:data:`WARMUP_SHARE`), and the pace is re-measured at each
    checkpoint because a GPU's lazy start lasts dozens of steps: on an H200, one cpu-preset run measured
    0.27 s a step over steps 10-50 and then ran about 0.11 s a step, so a single refit at step 50 cut 2,364
    steps to 258 and ended them in 62 s of a 100-s cap (README "Session 16").
    """

    def __init__(self, cap: WallClockCap, at_step: int, plan: RefitPlan):
        self.cap, self.at_step, self.plan = cap, at_step, plan  # refits at at_step, 2 x at_step, ...
        self.warm_at: int | None = None  # the step whose end starts this session's timing
        self.began: tuple[float, int] | None = None  # (time, step) from which the steps are timed
        self.refits: list[str] = []  # this session's applied refits, as the note says them

    def on_train_begin(self, args, state, control, lr_scheduler=None, optimizer=None, **kwargs):
        """Set the session's budget on the state and the schedule (the Trainer was planned for the ceiling);
        time from the end of the session's first :data:`WARMUP_SHARE` of steps to its first refit step (at
        least one step)."""
        if self.plan.budget is not None and state.max_steps != self.plan.budget:
            respace_schedule(lr_scheduler, optimizer, self.plan.budget)
            state.max_steps = self.plan.budget
        first_refit = (state.global_step // self.at_step + 1) * self.at_step
        untimed = max(1, math.ceil(WARMUP_SHARE * (first_refit - state.global_step)))
        self.warm_at, self.began = state.global_step + untimed, None

    @property
    def note(self) -> str | None:
        """The first fit's note, this session's first refit and, when there were more, the last one (as
        ``budget.json`` and the record keep them); None while no refit changed the budget."""
        if not self.refits:
            return None
        parts = [self.plan.fit_note, self.refits[0]]
        if len(self.refits) > 1:
            parts.append(f"{len(self.refits) - 1} more refit(s), the last {self.refits[-1]}")
        return "; ".join(p for p in parts if p)

    def on_step_end(self, args, state, control, lr_scheduler=None, optimizer=None, **kwargs):
        step = state.global_step
        if self.began is None and step == self.warm_at:
            self.began = (time.monotonic(), step)
        if self.began is None or step % self.at_step or self.began[1] >= step:
            return control
        t0, step0 = self.began
        self.began = (time.monotonic(), step)  # the next refit times from here, this evaluation included
        s_per_step = agree((self.began[0] - t0) / (step - step0), args)
        left = self.cap.max_wall_s - agree(self.cap.wall_s(), args)
        fits = step + math.floor(REFIT_MARGIN * max(0.0, left) / s_per_step)
        budget = max(step, min(self.plan.ceiling, fits))
        tolerance = 0 if step == self.at_step else REFIT_TOLERANCE * state.max_steps
        if abs(budget - state.max_steps) <= tolerance:
            return control
        if not respace_schedule(lr_scheduler, optimizer, budget):
            return control
        self.refits.append(
            f"refitted at step {step} from {state.max_steps:,} to {budget:,} steps: "
            f"{REFIT_MARGIN} x {left:,.0f} s left / {s_per_step:.2f} s a step "
            f"(measured over steps {step0}-{step})"
            + (f", at most {self.plan.ceiling:,}" if fits > self.plan.ceiling else "")
        )
        state.max_steps = budget
        if self.plan.main:
            from zoo.fileio import write_json_atomic

            write_json_atomic(self.plan.run_dir / BUDGET_FILE, {"budget": budget, "note": self.note})
        return control


def respace_schedule(scheduler, optimizer, total: int) -> bool:
    """Point a transformers schedule (a ``LambdaLR`` over ``functools.partial`` lambdas) at ``total``
    training steps and set the optimiser's current learning rates from it; False (nothing changed) for a
    schedule of another form. Schedules without a total (constant) are left as they are."""
    sched = getattr(scheduler, "scheduler", scheduler)  # accelerate's wrapper
    fns = getattr(sched, "lr_lambdas", None)
    if not fns or not all(isinstance(f, functools.partial) for f in fns):
        return False
    sched.lr_lambdas = [
        functools.partial(f.func, *f.args, **{**f.keywords, "num_training_steps": total})
        if "num_training_steps" in f.keywords
        else f
        for f in fns
    ]
    lrs = [base * f(sched.last_epoch) for base, f in zip(sched.base_lrs, sched.lr_lambdas, strict=True)]
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        group["lr"] = lr
    sched._last_lr = lrs
    return True
