"""Zero-shot lm-eval scores on the leaderboard (``zoo lm-eval``, protocol ``lm-eval zero-shot``).

They are not fine-tuned scores: they never take part in choosing a language's preset, in a task column, a
mean, a retention or the Pareto front. Each row carries them apart (``zero_shot``), beside the chance accuracy
of the task, and the page shows them in a table of their own. Per (model, task) the newest whole-split record
is used; a ``--limit`` subset only where the model has no whole-split record of that task.
"""

from __future__ import annotations

from typing import Any

from zoo import results

PROTOCOL = "lm-eval zero-shot"


def is_zero_shot(record: dict[str, Any]) -> bool:
    """True for a record written by ``zoo lm-eval``."""
    return record["kind"] == "eval" and results.record_protocol(record) == PROTOCOL


def _entry(rec: dict[str, Any]) -> dict[str, Any]:
    details = rec.get("details") or {}
    stderr = (details.get("stderr") or {}).get("accuracy")
    return {
        "accuracy": float(rec["scores"]["accuracy"]),
        "accuracy_stderr": float(stderr) if stderr is not None else None,
        "macro_f1": float(rec["scores"]["macro_f1"]) if "macro_f1" in rec["scores"] else None,
        "chance": float(details["chance"]) if details.get("chance") is not None else None,
        "n_examples": details.get("n_examples"),
        "limit": details.get("limit"),
        "preset": rec["task"].get("preset"),
        "lm_model": details.get("lm_model"),
    }


def zero_shot_entries(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One model's zero-shot scores per task (``records`` may hold any kinds; others are ignored)."""
    chosen: dict[str, dict[str, Any]] = {}
    ordered = sorted((r for r in records if is_zero_shot(r)), key=lambda r: r.get("date") or "")
    for rec in ordered:  # newest last; a whole-split record beats any --limit subset
        name = rec["task"]["name"]
        whole = (rec.get("details") or {}).get("limit") is None
        old = chosen.get(name)
        if old is None or whole or (old.get("details") or {}).get("limit") is not None:
            chosen[name] = rec
    return {name: _entry(rec) for name, rec in sorted(chosen.items())}


def zero_shot_tasks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The language's zero-shot tasks, with chance accuracy, in name order."""
    tasks: dict[str, float | None] = {}
    for row in rows:
        for name, e in row["zero_shot"].items():
            if tasks.get(name) is None:  # the first row that knows the chance
                tasks[name] = e["chance"]
    return [{"name": n, "chance": tasks[n]} for n in sorted(tasks)]
