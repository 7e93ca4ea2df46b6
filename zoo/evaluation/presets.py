"""Evaluation presets (fine-tuning recipes): how long heads train, on how much data, at which learning rate.

Heads train with early stopping on the selection split (``patience`` epochs without improvement of the
task's main metric, counted once the metric has risen above its first epoch's value) up to ``max_epochs``;
the chosen epoch is recorded with every score.

A preset's :attr:`EvalPreset.protocol` says what its scores mean:

- ``standard``: the whole train split, the epoch chosen on the whole select split, the whole score split.
  Only these scores compare with published results and go into a card's ``model-index``.
- ``learning-curve``: the head trains on a fixed subset of ``max_train_examples`` rows (``quick``): the
  point of a learning curve, comparable between models of the same run, not with papers.
- ``smoke``: capped everywhere, for tests; the numbers only show that the chain runs.

``--set key=value`` changes a preset's fields under a new name (:func:`parse_overrides`). "Preset" is the
one word for a recipe in code and messages; result records still carry it under their older key names
(``task.preset``: the preset name; ``details.preset_fields``: its fields), which the record schema owns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zoo.errors import UsageError
from zoo.overrides import apply_overrides, parse_sets

PROTOCOLS = ("standard", "learning-curve", "smoke")


@dataclass(frozen=True)
class EvalPreset:
    """Fine-tuning recipe of one (model, task, seed) run."""

    name: str
    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    max_length: int  # sub-word tokens per example (sentence tasks) or per sentence (word tasks)
    max_train_examples: int | None = None  # None = the whole train split
    max_eval_examples: int | None = None  # cap on select/score examples (smoke only)
    max_select_examples: int | None = None  # cap on the select split only (the score split stays whole)
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    # learning rates tried on seed 0 of every (model, task); the best select score wins and the other seeds
    # use it (see zoo.evaluation.lr_search). Empty: ``learning_rate`` alone.
    learning_rates: tuple[float, ...] = ()
    eval_batch_size: int = 64  # prediction batches (length-sorted, no gradients)
    bf16: str = "auto"  # auto: a short probe keeps bf16 autocast only where it trains faster; on | off

    def override(self, **changes: Any) -> EvalPreset:
        """A copy with some fields changed (typed values; the CLI's ``--set`` is :func:`parse_overrides`)."""
        return apply_overrides(self, changes, fixed=())

    @property
    def protocol(self) -> str:
        """``standard`` (whole splits), ``learning-curve`` (a train subset) or ``smoke``."""
        return protocol_of(self.name, dataclasses.asdict(self))

    @property
    def search_grid(self) -> tuple[float, ...]:
        """The learning rates seed 0 tries (one: no search)."""
        return tuple(self.learning_rates) or (self.learning_rate,)


def protocol_of(name: str, fields: dict) -> str:
    """The protocol of a preset from its name and fields (also for records, whose fields are stored; a
    record without fields gets its named preset's, and the retired 300-example names are learning curves)."""
    base = name.split("+")[0]
    if not fields:
        if base in RETIRED:
            return "learning-curve"
        if base in PRESETS:
            fields = dataclasses.asdict(PRESETS[base])
    if base == "smoke" or fields.get("max_eval_examples") is not None:
        return "smoke"
    if fields.get("max_train_examples") is not None or fields.get("max_select_examples") is not None:
        return "learning-curve"
    return "standard"


DEFAULT_PRESET = "standard"

PRESETS: dict[str, EvalPreset] = {
    # The default of `zoo eval` and `zoo run`: whole splits, every model alike (students, baselines, the
    # teacher, any Hub encoder). The learning rate is searched on seed 0 because one rate does not serve a
    # 4-layer student and a 12-layer teacher alike: at 1e-4 both were still rising after 10 epochs of
    # MasakhaNER xh (teacher F1 85.2, student 58.5; issue 13). Early stopping with patience 3 ends most runs
    # well before 20 epochs; a run that reaches 20 while still improving is flagged as not converged.
    "standard": EvalPreset(
        "standard",
        max_epochs=20,
        patience=3,
        batch_size=32,
        learning_rate=1e-4,
        learning_rates=(1e-4, 3e-4),
        max_length=256,
    ),
    # A learning-curve point at 300 training examples (the old `cpu` preset, renamed): every model trains
    # on the same fixed random 300 train examples per task in batches of 8, selects its epoch on 100 select
    # examples and is scored on the whole score split. Comparable between models, not with papers: on
    # MasakhaNER xh the teacher scored F1 43.0 here and 85.2 on the whole train split.
    "quick": EvalPreset(
        "quick",
        max_epochs=8,
        patience=2,
        batch_size=8,
        learning_rate=1e-4,
        max_length=128,
        max_train_examples=300,
        max_select_examples=100,
    ),
    # seconds per task: for tests and CI; scores from it are not comparable and are labelled "smoke"
    "smoke": EvalPreset(
        "smoke",
        max_epochs=1,
        patience=1,
        batch_size=16,
        learning_rate=5e-4,
        max_length=64,
        max_train_examples=64,
        max_eval_examples=64,
    ),
    # the standard protocol with a longer leash (40 epochs, patience 5): for GPUs
    "full": EvalPreset(
        "full",
        max_epochs=40,
        patience=5,
        batch_size=32,
        learning_rate=1e-4,
        learning_rates=(1e-4, 3e-4),
        max_length=256,
    ),
}

# Names of presets that no longer exist, and what replaced them (their records keep their name).
RETIRED = {"cpu": "quick", "default": "quick"}


def get_preset(name: str) -> EvalPreset:
    """A preset by name, with the list of presets when unknown."""
    if name not in PRESETS:
        hint = f"presets: {', '.join(PRESETS)}"
        if name in RETIRED:
            hint = f"'{name}' was renamed '{RETIRED[name]}' (a 300-example learning-curve point); {hint}"
        raise UsageError(f"unknown eval preset '{name}'", hint=hint)
    return PRESETS[name]




def parse_overrides(preset: EvalPreset, items: Iterable[str] | None) -> EvalPreset:
    """Apply ``--set key=value`` (:mod:`zoo.overrides`) to a preset; the result is named
    ``<preset>+key=value,...``, so its records never mix with the preset's own."""
    sets = parse_sets(items)
    if not sets:
        return preset
    changed = apply_overrides(preset, sets)
    values = {k: getattr(changed, k) for k in sets}
    name = preset.name + "+" + ",".join(f"{k}={v}" for k, v in sorted(values.items()))
    return dataclasses.replace(changed, name=name)
