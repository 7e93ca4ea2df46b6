"""Presets: values, overrides from the command line, validation."""

from __future__ import annotations

import pytest

from zoo.distill.presets import PRESETS, get_preset
from zoo.errors import UsageError
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
