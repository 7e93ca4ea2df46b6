"""Runtime checks in the views (``zoo results``, cards): a model's ``details.runtime_check``
(:class:`zoo.results.record.RuntimeCheck`) over its seeds, as numbers and as one line of text, e.g.
``eager fp32: f1 58.3; onnx-int8: f1 57.9 (−0.4, within 0.5)``."""

from __future__ import annotations

from typing import Any

REFERENCE_LABEL = {"eager": "eager fp32"}


def summarize_runtime_checks(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean reference score, and per runtime its mean score, mean difference and how many seeds were within
    the tolerance, over the records (seeds) that carry a runtime check; None when none does."""
    checks = [c for r in records if (c := (r.get("details") or {}).get("runtime_check"))]
    if not checks:
        return None
    metric, reference = checks[0]["metric"], checks[0]["reference"]
    runtimes: dict[str, dict[str, Any]] = {}
    for c in checks:
        for name, e in c["runtimes"].items():
            s = runtimes.setdefault(name, {"scores": [], "diffs": [], "within": 0, "reason": None})
            if e["status"] == "ok":
                s["scores"].append(e["scores"][metric])
                s["diffs"].append(e["diff_points"])
                s["within"] += bool(e["within"])
            else:
                s["reason"] = e.get("reason")
    return {
        "metric": metric,
        "reference": reference,
        "reference_mean": _mean([c["reference_scores"][metric] for c in checks]),
        "tolerance_points": checks[0]["tolerance_points"],
        "seeds": len(checks),
        "runtimes": {
            name: {
                "mean": _mean(s["scores"]),
                "diff": _mean(s["diffs"]),
                "n": len(s["scores"]),
                "within": s["within"],
                "unavailable": s["reason"] if not s["scores"] else None,
                "text": _score_text(metric, reference, s["scores"], s["diffs"]),
            }
            for name, s in runtimes.items()
        },
    }


def _score_text(metric: str, reference: str, scores: list[float], diffs: list[float]) -> str | None:
    """A runtime's mean score against the reference, e.g. ``f1 71.8 (−0.2 vs eager fp32)``; None unscored."""
    if not scores:
        return None
    ref = REFERENCE_LABEL.get(reference, reference)
    return f"{metric} {_mean(scores):.1f} ({_signed(_mean(diffs))} vs {ref})"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _signed(x: float) -> str:
    """``+0.3``, ``−0.4`` (a minus sign), ``±0.0``."""
    text = f"{x:+.1f}"
    return "±0.0" if text in ("+0.0", "-0.0") else text.replace("-", "−")


def runtime_check_text(summary: dict[str, Any]) -> str:
    """One line: the reference score, then each runtime's score, its difference and the verdict."""
    metric, tol = summary["metric"], f"{summary['tolerance_points']:g}"
    ref = REFERENCE_LABEL.get(summary["reference"], summary["reference"])
    parts = [f"{ref}: {metric} {summary['reference_mean']:.1f}"]
    for name, s in summary["runtimes"].items():
        if s["unavailable"] is not None or not s["n"]:
            parts.append(f"{name}: not available ({s['unavailable'] or 'no score'})")
            continue
        verdict = f"within {tol}" if s["within"] == s["n"] else f"not within {tol}"
        if s["within"] != s["n"] and s["n"] > 1:
            verdict += f" in {s['n'] - s['within']} of {s['n']} seeds"
        parts.append(f"{name}: {metric} {s['mean']:.1f} ({_signed(s['diff'])}, {verdict})")
    seeds = summary["seeds"]
    return "; ".join(parts) + (f" (mean of {seeds} seeds)" if seeds > 1 else "")
