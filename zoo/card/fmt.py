"""How a card prints numbers: missing values say "not recorded" / "not evaluated", never a made-up figure."""

from __future__ import annotations

from typing import Any

NOT_EVALUATED = "not evaluated"
NOT_RECORDED = "not recorded"


def is_num(x: Any) -> bool:
    """A real number (bools are not numbers here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def fmt_int(x: Any) -> str:
    return f"{int(x):,}" if is_num(x) else NOT_RECORDED


def fmt_millions(x: Any) -> str:
    if not is_num(x):
        return NOT_RECORDED
    return f"{x / 1e6:.1f}M" if x >= 1e5 else f"{x / 1e3:.1f}k"


def fmt_score(s: dict[str, Any] | None) -> str:
    """A mean_ci95 summary: ``61.8 ± 2.1``, or ``61.8 (1 seed)``."""
    if not s or s.get("mean") is None:
        return NOT_EVALUATED
    if s.get("ci95") is None:
        return f"{s['mean']:.1f} (1 seed)"
    return f"{s['mean']:.1f} ± {s['ci95']:.1f}"


def fmt_constant(s: dict[str, Any] | None) -> str:
    """The constant baseline's score: deterministic, so no interval and no seed count."""
    return NOT_EVALUATED if not s or s.get("mean") is None else f"{s['mean']:.1f}"


def fmt_duration(seconds: Any) -> str:
    if not is_num(seconds):
        return NOT_RECORDED
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h} h {m} min" if h else f"{m} min {sec} s" if m else f"{sec} s"


def fmt_mapping(x: Any) -> str:
    """``{a: 1, b: 2}`` -> ``a 1, b 2``; a list -> ``x, y``; nothing -> "not recorded"."""
    if isinstance(x, dict):
        return ", ".join(f"{k} {v}" for k, v in x.items()) or NOT_RECORDED
    if isinstance(x, (list, tuple)):
        return ", ".join(str(v) for v in x) or NOT_RECORDED
    return str(x) if x not in (None, "") else NOT_RECORDED


def fmt_percent_share(x: Any) -> str:
    """A share as a percentage: 0.0465 -> ``4.65 %`` (a value above 1 is taken as a percentage already)."""
    if not is_num(x):
        return NOT_RECORDED
    return f"{x * 100:.2f} %" if x <= 1 else f"{x:.2f} %"


def energy_text(record: dict[str, Any]) -> str:
    """Energy per 1k sentences with its label: measured (RAPL/NVML), an estimate, or "not measured"."""
    value = (record.get("scores") or {}).get("energy_j_per_1k_sentences")
    method = str((record.get("details") or {}).get("energy_method") or "not measured")
    if not is_num(value) or method == "not measured":
        return "not measured"
    if method.startswith("estimate"):
        return f"{value:.1f} J (estimate: {method.partition(':')[2].strip() or 'unspecified'})"
    return f"{value:.1f} J (measured, {method.upper()})"


def fmt_stopping(stop: Any) -> str:
    """Why distillation stopped (a ``StoppingPart``), in one sentence; "not recorded" for older records."""
    if stop is None:
        return NOT_RECORDED
    n, step = stop.evaluations_without_improvement, f"{stop.step:,}"
    evaluations = f"{n} evaluation{'' if n == 1 else 's'}"
    of_budget = f"of a {stop.budget_steps:,}-step budget"
    if stop.stop_reason == "plateau":
        return (
            f"the held-out loss plateaued: {evaluations} in a row without an improvement of more than "
            f"{stop.min_delta:g} (patience {stop.patience}), at step {step} {of_budget}"
        )
    trend = "still improving" if n == 0 else f"{evaluations} in a row without improvement"
    if stop.stop_reason == "budget":
        epochs = f" ({stop.max_epochs:g} epochs)" if stop.max_epochs is not None else ""
        fitted = f", {stop.budget_fit}" if stop.budget_fit and stop.budget_fit.startswith("cut") else ""
        return f"the step budget{epochs}{fitted} ran out at step {step}; the held-out loss: {trend}"
    return (
        f"the wall-clock cap of {fmt_duration(stop.max_wall_s)} (all sessions) was reached at step {step} "
        f"{of_budget}; the held-out loss: {trend}"
    )


def fmt_numerics(numerics: Any) -> str:
    """fp32 or bf16 autocast and why (a ``NumericsPart``); "not recorded" for older records."""
    if numerics is None:
        return NOT_RECORDED
    chosen = "bf16 autocast" if numerics.chosen == "bf16" else "fp32"
    setting = str(numerics.bf16).lower()
    return f"{chosen} on {numerics.device} (preset bf16: {setting}; {numerics.reason})"
