"""Presets: values, overrides from the command line, validation; the step budget, the stop rule and the
bf16 rule (pure functions of the preset and given numbers)."""

from __future__ import annotations

import pytest

from zoo.distill.presets import PRESETS, get_preset
from zoo.distill.stopping import budget_steps, steps_per_epoch, stop_reason
from zoo.errors import UsageError
from zoo.evaluation.numerics import pick_bf16
from zoo.overrides import parse_sets


def test_time_gpu_is_times_recipe():
    p = get_preset("time-gpu")
    assert (p.per_device_batch_size, p.max_steps, p.learning_rate, p.warmup_steps) == (
        256,
        200_000,
        6e-4,
        4000,
    )
    assert (p.lr_scheduler, p.max_grad_norm, p.bf16, p.optim.startswith("adamw")) == (
        "linear",
        1.0,
        True,
        True,
    )


def test_overrides_are_typed():
    p = get_preset(
        "smoke", parse_sets(["max_steps=1_000", "bf16=true", "learning_rate=2e-4", "max_lines=none"])
    )
    assert (p.max_steps, p.bf16, p.learning_rate, p.max_lines) == (1000, True, 2e-4, None)
    assert get_preset("cpu", {"relation_heads": "8"}).relation_heads == 8
    assert get_preset("cpu").max_steps == PRESETS["cpu"]().max_steps  # overrides do not leak


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_step": "3"}, "did you mean 'max_steps'"),
        ({"max_steps": "many"}, "expected int"),
        ({"bf16": "maybe"}, "expected bool"),
        ({"max_steps": "0"}, "max_steps must be at least 1"),
        ({"sampling": "shuffled"}, "group_by_length or random"),
        ({"heldout_fraction": "0.9"}, "heldout_fraction"),
        ({"mlm_head_steps": "-1"}, "mlm_head_steps must be >= 0"),
        ({"mlm_pppl_sequences": "0"}, "mlm_pppl_sequences >= 1"),
    ],
)
def test_bad_overrides_are_usage_errors(overrides, message):
    with pytest.raises(UsageError, match=message):
        get_preset("smoke", overrides)


def test_unknown_preset_and_bad_set_syntax():
    with pytest.raises(UsageError, match="did you mean 'cpu'"):
        get_preset("cpux")
    with pytest.raises(UsageError, match="FIELD=VALUE"):
        parse_sets(["max_steps"])


def test_cpu_preset_trains_to_a_plateau_within_an_epoch_budget_and_a_wall_cap():
    p = get_preset("cpu")
    assert p.max_seq_len >= 128 and (p.max_steps, p.max_epochs) == (None, 3.0)
    assert (p.patience, p.min_delta, p.max_wall_s, p.bf16) == (3, 0.001, 3300.0, "auto")
    # teacher embeddings, teacher layers where the widths allow, every weight trained (README "Session 8")
    assert (p.init_embeddings, p.init_layers, p.hidden_loss_weight) == ("teacher", "auto", 1.0)
    gpu = get_preset("time-gpu")
    assert (gpu.max_steps, gpu.max_epochs, gpu.patience, gpu.max_wall_s) == (200_000, None, None, None)
    smoke = get_preset("smoke")
    assert (smoke.max_steps, smoke.patience, smoke.max_wall_s, smoke.bf16) == (6, None, None, False)


def test_bf16_takes_true_false_or_auto_and_stopping_fields_take_none():
    assert [get_preset("smoke", {"bf16": v}).bf16 for v in ("auto", "true", "off")] == ["auto", True, False]
    p = get_preset("cpu", parse_sets(["max_steps=150", "max_epochs=none", "patience=none", "max_wall_s=60"]))
    assert (p.max_steps, p.max_epochs, p.patience, p.max_wall_s) == (150, None, None, 60.0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bf16": "maybe"}, "expected bool or 'auto'"),
        ({"max_steps": "none", "max_epochs": "none"}, "set max_steps or max_epochs"),
        ({"max_epochs": "0"}, "max_epochs must be positive"),
        ({"patience": "0"}, "patience must be at least 1"),
        ({"max_wall_s": "-5"}, "max_wall_s must be positive"),
        ({"min_delta": "-0.1"}, "min_delta must be at least 0"),
    ],
)
def test_bad_stopping_and_numerics_settings_are_usage_errors(overrides, message):
    with pytest.raises(UsageError, match=message):
        get_preset("cpu", overrides)


def test_the_step_budget_is_the_smaller_of_max_steps_and_max_epochs():
    # 100 sequences in batches of 32: 4 batches (the last one partial) per epoch
    assert steps_per_epoch(100, 32, processes=1) == 4
    assert steps_per_epoch(100, 32, processes=2) == 2  # each process takes every other batch
    assert steps_per_epoch(100, 32, processes=1, accumulation=3) == 1
    assert steps_per_epoch(3, 32, processes=4) == 1
    epochs = get_preset("smoke", {"max_steps": "none", "max_epochs": "1.5", "per_device_batch_size": "32"})
    assert budget_steps(epochs, 100, 1) == 6  # ceil(1.5 x 4)
    both = get_preset("smoke", {"max_steps": "5", "max_epochs": "1.5", "per_device_batch_size": "32"})
    assert budget_steps(both, 100, 1) == 5 and budget_steps(both, 10, 1) == 2
    assert budget_steps(get_preset("smoke"), 10**6, 8) == 6


@pytest.mark.parametrize(
    ("step", "without", "wall", "expected"),
    [
        (40, 3, 10.0, "plateau"),  # patience 3 reached
        (100, 3, 999.0, "plateau"),  # a plateau is named before the budget and the cap
        (100, 1, 999.0, "budget"),
        (40, 2, 500.0, "cap"),
        (40, 2, 499.9, None),  # nothing is over yet: a rerun trains on
    ],
)
def test_stop_reason(step, without, wall, expected):
    assert stop_reason(step, 100, without, patience=3, wall_s=wall, max_wall_s=500.0) == expected


def test_without_patience_or_cap_only_the_budget_stops():
    assert stop_reason(99, 100, 50, patience=None, wall_s=1e9, max_wall_s=None) is None
    assert stop_reason(100, 100, 0, patience=None, wall_s=0.0, max_wall_s=None) == "budget"


def test_bf16_is_kept_only_when_clearly_faster():
    assert pick_bf16(fp32_s=1.0, bf16_s=0.26)  # AMX-like: bf16 matmul ~3.8x fp32
    assert not pick_bf16(fp32_s=1.0, bf16_s=2.5)  # no native bf16: autocast is slower
    assert not pick_bf16(fp32_s=1.0, bf16_s=0.95)  # within the 0.9x margin: full precision stays
    assert pick_bf16(fp32_s=1.0, bf16_s=0.89)
    assert not pick_bf16(fp32_s=1.0, bf16_s=None)  # not timed (no native bf16): fp32


def test_the_budget_is_fitted_to_the_wall_cap_once_and_kept_on_resume(tmp_path):
    from zoo.distill.stopping import fit_to_cap

    cpu = get_preset("cpu", {"max_wall_s": "100"})
    assert cpu.fit_budget_to_cap and not get_preset("smoke").fit_budget_to_cap
    # 0.8 x (100 - 20) s left / 0.5 s a step = 128 steps, below the 1000-step budget
    budget, note = fit_to_cap(cpu, 1000, 0.5, 20.0, tmp_path, resuming=False, main=True)
    assert budget == 128 and note.startswith("cut from 1,000 to 128 steps")
    # a resumed session keeps the first session's budget (its learning-rate schedule), whatever it probes now
    assert fit_to_cap(cpu, 1000, 5.0, 90.0, tmp_path, resuming=True, main=True) == (128, note)
    # a fresh run decides anew; a budget that fits stays
    assert fit_to_cap(cpu, 100, 0.5, 20.0, tmp_path, resuming=False, main=True)[0] == 100
    assert fit_to_cap(cpu, 100, None, 20.0, tmp_path / "x", resuming=False, main=True)[1].startswith(
        "not fitted"
    )
    no_cap = get_preset("cpu", {"max_wall_s": "none"})
    assert fit_to_cap(no_cap, 1000, 0.5, 20.0, tmp_path, resuming=False, main=True) == (1000, None)


def _linear_schedule(total: int, steps_done: int):
    """AdamW on one parameter with transformers' linear schedule (lr 1.0, 3 warm-up steps), stepped
    ``steps_done`` times."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_linear_schedule_with_warmup(opt, 3, total)
    for _ in range(steps_done):
        opt.step()
        sched.step()
    return opt, sched


def test_a_respaced_schedule_decays_to_zero_at_the_new_total_like_one_built_for_it():
    from zoo.distill.stopping import respace_schedule

    opt, sched = _linear_schedule(100, 10)
    assert respace_schedule(sched, opt, 50)
    assert opt.param_groups[0]["lr"] == pytest.approx((50 - 10) / (50 - 3))  # the line from warm-up to 50
    fresh_opt, fresh = _linear_schedule(50, 10)  # what a run resumed at step 10 with budget 50 builds
    for _ in range(40):
        assert opt.param_groups[0]["lr"] == pytest.approx(fresh_opt.param_groups[0]["lr"])
        opt.step(), sched.step(), fresh_opt.step(), fresh.step()
    assert opt.param_groups[0]["lr"] == 0.0


def test_the_budget_is_refitted_once_from_the_measured_step_time(tmp_path):
    import json
    import time

    from transformers import TrainerControl, TrainerState, TrainingArguments

    from zoo.distill.stopping import BUDGET_FILE, BudgetRefit, RefitPlan, WallClockCap

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")

    def refit_at_step_10(ceiling: int) -> tuple[BudgetRefit, TrainerState, float]:
        # 110 s of a 1000-s cap left (890 s in earlier sessions), 10 steps in 20 s: 2.0 s a step
        cap = WallClockCap(1000.0, prior_wall_s=890.0, started=time.monotonic())
        refit = BudgetRefit(cap, at_step=10, plan=RefitPlan(ceiling, tmp_path, True, "cut by the probe"))
        state = TrainerState(global_step=10, max_steps=100)
        refit.began = (time.monotonic() - 20.0, 0)
        opt, sched = _linear_schedule(100, 10)
        refit.on_step_end(args, state, TrainerControl(), lr_scheduler=sched, optimizer=opt)
        return refit, state, opt.param_groups[0]["lr"]

    refit, state, lr = refit_at_step_10(ceiling=200)
    assert state.max_steps == 10 + 49  # floor(0.9 x 110 s / 2.0 s)
    assert lr == pytest.approx((59 - 10) / (59 - 3))
    assert refit.note.startswith("cut by the probe; refitted at step 10 from 100 to 59 steps")
    assert "measured" in refit.note
    assert json.loads((tmp_path / BUDGET_FILE).read_text()) == {"budget": 59, "note": refit.note}
    _, capped, _ = refit_at_step_10(ceiling=40)  # never beyond the epochs the Trainer planned
    assert capped.max_steps == 40
    cap = WallClockCap(1000.0, 890.0, time.monotonic())
    late = BudgetRefit(cap, 10, RefitPlan(200, tmp_path, True, None))
    late.began = (time.monotonic() - 20.0, 10)  # a session resumed at the refit step: nothing changes
    state = TrainerState(global_step=10, max_steps=100)
    late.on_step_end(args, state, TrainerControl(), lr_scheduler=None, optimizer=None)
    assert state.max_steps == 100 and late.note is None


def test_the_refit_does_not_time_the_sessions_first_steps(tmp_path, monkeypatch):
    import types

    from transformers import TrainerControl, TrainerState, TrainingArguments

    from zoo.distill import stopping

    now = [0.0]
    monkeypatch.setattr(stopping, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    cap = stopping.WallClockCap(1000.0, prior_wall_s=999.0, started=0.0)  # 1 s left
    refit = stopping.BudgetRefit(cap, at_step=10, plan=stopping.RefitPlan(200, tmp_path, True, None))
    state = TrainerState(global_step=0, max_steps=100)
    opt, sched = _linear_schedule(100, 10)
    refit.on_train_begin(args, state, TrainerControl())
    assert refit.warm_at == 2  # the first 20 % of steps 0-10
    for step in range(1, 11):
        # a slow first step (a GPU's lazy start), then 1 ms a step: timed from step 0, 0.051 s a step and
        # 10 + floor(0.9 x 0.49 s left / 0.051) = 18 steps; from step 2, 0.001 s a step fits the ceiling
        now[0] += 0.5 if step == 1 else 0.001
        state.global_step = step
        refit.on_step_end(args, state, TrainerControl(), lr_scheduler=sched, optimizer=opt)
    assert state.max_steps == 200
    assert "measured over steps 2-10" in refit.note
    resumed = stopping.BudgetRefit(cap, at_step=10, plan=stopping.RefitPlan(200, tmp_path, True, None))
    resumed.on_train_begin(args, TrainerState(global_step=14, max_steps=100), TrainerControl())
    assert resumed.warm_at == 16  # a session resumed at step 14: its first refit is at 20


def test_the_budget_is_refitted_at_later_checkpoints_when_the_pace_changes(tmp_path, monkeypatch):
    import json
    import types

    from transformers import TrainerControl, TrainerState, TrainingArguments

    from zoo.distill import stopping

    now = [0.0]
    monkeypatch.setattr(stopping, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    cap = stopping.WallClockCap(100.0, prior_wall_s=0.0, started=0.0)
    refit = stopping.BudgetRefit(cap, 10, stopping.RefitPlan(1000, tmp_path, True, None))
    state = TrainerState(global_step=0, max_steps=100)
    opt, sched = _linear_schedule(100, 0)
    refit.on_train_begin(args, state, TrainerControl())
    budgets = {}
    for step in range(1, 31):
        now[0] += 1.0 if step <= 10 else 0.25  # a slow start (a GPU's), then four times faster
        opt.step(), sched.step()
        state.global_step = step
        refit.on_step_end(args, state, TrainerControl(), lr_scheduler=sched, optimizer=opt)
        budgets[step] = state.max_steps
    # step 10: 1 s a step over steps 2-10, 90 s left: 10 + floor(0.9 x 90 / 1) = 91
    assert budgets[10] == 91
    # step 20: 0.25 s a step over steps 10-20, 87.5 s left: 20 + 315 = 335, more than 10 % above 91
    assert budgets[20] == 335
    # step 30: 30 + floor(0.9 x 85 / 0.25) = 336, within 10 % of 335: the schedule is left alone
    assert budgets[30] == 335
    assert opt.param_groups[0]["lr"] == pytest.approx((335 - 30) / (335 - 3))
    assert refit.note == (
        "refitted at step 10 from 100 to 91 steps: 0.9 x 90 s left / 1.00 s a step "
        "(measured over steps 2-10); 1 more refit(s), the last refitted at step 20 from 91 to 335 steps: "
        "0.9 x 88 s left / 0.25 s a step (measured over steps 10-20)"
    )
    assert json.loads((tmp_path / stopping.BUDGET_FILE).read_text())["budget"] == 335


def test_a_resumed_session_starts_at_its_budget_and_a_refit_may_raise_it_past_an_epoch(tmp_path, monkeypatch):
    """Session 17: a run whose budget a slow spell cut to 620 steps (under one 788-step epoch) was killed and
    resumed; its Trainer, planned for 620 steps, allowed at most 788 when the pace came back. The Trainer is
    now planned for the uncut budget and given the fitted one as training begins."""
    import types

    from transformers import TrainerControl, TrainerState, TrainingArguments

    from zoo.distill import stopping

    now = [0.0]
    monkeypatch.setattr(stopping, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    assert stopping.refits_budget(get_preset("cpu")) and not stopping.refits_budget(get_preset("smoke"))
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    cap = stopping.WallClockCap(2000.0, prior_wall_s=500.0, started=0.0)  # a resumed session
    plan = stopping.RefitPlan(2364, tmp_path, True, None, budget=620)  # ceiling: the uncut budget
    refit = stopping.BudgetRefit(cap, at_step=50, plan=plan)
    state = TrainerState(global_step=100, max_steps=2364)  # the Trainer, planned for the uncut budget
    opt, sched = _linear_schedule(2364, 100)
    refit.on_train_begin(args, state, TrainerControl(), lr_scheduler=sched, optimizer=opt)
    assert state.max_steps == 620
    fresh_opt, _ = _linear_schedule(620, 100)  # the schedule a session planned for 620 steps has at step 100
    assert opt.param_groups[0]["lr"] == pytest.approx(fresh_opt.param_groups[0]["lr"])
    for step in range(101, 151):  # the pace is back: 1 s a step
        now[0] += 1.0
        opt.step(), sched.step()
        state.global_step = step
        refit.on_step_end(args, state, TrainerControl(), lr_scheduler=sched, optimizer=opt)
    # timed over steps 110-150 (1 s a step), 2000 - 550 = 1450 s left: 150 + floor(0.9 x 1450) = 1455 steps,
    # past the 788 steps of the first epoch and within the uncut 2,364
    assert state.max_steps == 1455
