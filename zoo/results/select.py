"""Choosing and summarising results: seed intervals, a record's protocol, the preset a view shows, retention.

Every view (``zoo results``, cards, the leaderboard) selects and summarises through these functions, so they
print the same numbers from the same records.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from scipy.stats import t as student_t


def mean_ci95(values: list[float]) -> dict[str, Any]:
    """Mean and half-width of the 95% Student-t interval over seeds (half-width None for one value)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0, "values": []}
    mean = sum(values) / n
    if n == 1:
        return {"mean": mean, "ci95": None, "n": 1, "values": list(values)}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = float(student_t.ppf(0.975, n - 1))
    return {"mean": mean, "ci95": t * sd / math.sqrt(n), "n": n, "values": list(values)}


def record_protocol(record: dict[str, Any]) -> str:
    """The protocol of an eval record: ``standard``, ``learning-curve`` or ``smoke`` (see
    :mod:`zoo.evaluation.presets`), or ``lm-eval zero-shot`` (:mod:`zoo.harness.run`, no fine-tuning);
    older records get theirs from their stored preset fields."""
    from zoo.evaluation.presets import protocol_of

    task = record.get("task") or {}
    if task.get("protocol"):
        return task["protocol"]
    fields = (record.get("details") or {}).get("preset_fields") or {}
    return protocol_of(str(task.get("preset")), fields)


PROTOCOL_LABELS = {
    "standard": "standard protocol",
    "learning-curve": "learning-curve point (train subset), not comparable with papers",
    "smoke": "smoke test, not a result",
    "lm-eval zero-shot": "zero-shot with lm-eval, no fine-tuning: not comparable with fine-tuned scores",
}


def choose_preset(evals: list[dict[str, Any]], forced: str | None = None) -> str | None:
    """The eval preset whose scores a language shows (leaderboard and cards alike): ``forced``, else a
    standard-protocol preset before a learning-curve one before smoke before lm-eval zero-shot, then the
    most complete one (most (model, task) pairs scored), then most records, then name."""
    if forced is not None:
        return forced
    pairs: dict[str | None, set] = defaultdict(set)
    count: Counter = Counter()
    rank: dict[str | None, int] = {}
    order = {"standard": 0, "learning-curve": 1, "smoke": 2, "lm-eval zero-shot": 3}
    for r in evals:
        b = r["task"].get("preset")
        pairs[b].add((r["model"]["id"], r["task"]["name"]))
        count[b] += 1
        rank[b] = min(rank.get(b, 9), order.get(record_protocol(r), 4))
    if not pairs:
        return None
    return sorted(pairs, key=lambda b: (rank[b], -len(pairs[b]), -count[b], str(b)))[0]


def retention(student_mean: float | None, teacher: dict[str, Any] | None,
              floor_mean: float | None = None) -> dict[str, Any]:
    """Student / teacher, the one definition every view uses (``zoo results``, cards, the leaderboard).

    ``teacher`` is a :func:`mean_ci95` summary, ``floor_mean`` the task's constant-baseline score (majority
    class, most frequent tag). Returns ``{"ratio": float | None, "status": str}``; status ``ok``,
    ``no teacher``, or ``teacher at chance`` when the teacher is not above the constant baseline by more
    than its 95% interval: a ratio to a model that learnt nothing says nothing, so it is left out.
    """
    if student_mean is None or not teacher or teacher.get("mean") is None:
        return {"ratio": None, "status": "no teacher"}
    if floor_mean is not None and teacher["mean"] - (teacher.get("ci95") or 0.0) <= floor_mean:
        return {"ratio": None, "status": "teacher at chance"}
    if not teacher["mean"]:
        return {"ratio": None, "status": "teacher at chance"}
    return {"ratio": student_mean / teacher["mean"], "status": "ok"}


def retention_text(ret: dict[str, Any]) -> str:
    """A retention as every view prints it: ``95.1 %``, ``n/a (teacher at chance)`` or ``–``."""
    if ret["ratio"] is not None:
        return f"{100 * ret['ratio']:.1f} %"
    return "n/a (teacher at chance)" if ret["status"] == "teacher at chance" else "–"
