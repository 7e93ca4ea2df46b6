"""The card's stamp: an HTML comment at its end that records the model revision, the results it carries and
the organisation it names, so that ``zoo run`` and ``zoo publish`` can tell a fresh card from a stale one."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from zoo.card.context import Student
from zoo.card.scores import BenchRow, TaskResult, collect_bench, collect_eval

STAMP_PREFIX = "<!-- time-zoo-card "
_STAMP_RE = re.compile(r"<!-- time-zoo-card (\{.*\}) -->")


def results_digest(tasks: list[TaskResult], bench: list[BenchRow]) -> str:
    """A hash of the records a card shows (changes when a record is added or recomputed)."""
    h = hashlib.sha256()
    recs = [r for t in tasks for r in t.records] + [b.record for b in bench]
    for key in sorted(
        f"{r['kind']}|{r['model'].get('id')}|{r['model'].get('revision')}|{r['task'].get('name')}|"
        f"{r.get('seed')}|{r.get('variant')}|{r.get('date')}"
        for r in recs
    ):
        h.update(key.encode() + b"\n")
    return h.hexdigest()[:16]


def results_summary(tasks: list[TaskResult], bench: list[BenchRow]) -> str:
    """``5 tasks × 3 seeds, bench eager/onnx-int8`` (what a publish commit message names)."""
    done = [t for t in tasks if t.evaluated]
    seeds = sorted({len(t.seeds) for t in done})
    seed_text = "" if not seeds else f" × {seeds[0]}" if len(seeds) == 1 else f" × {seeds[0]}-{seeds[-1]}"
    evals = (
        f"{len(done)} task{'s' if len(done) != 1 else ''}{seed_text} seed{'s' if seeds != [1] else ''}"
        if done
        else "not evaluated"
    )
    variants = [b.variant for b in bench if b.who == "student"]
    return f"{evals}, {'bench ' + '/'.join(variants) if variants else 'no bench'}"


def current_stamp(
    student: Student, org: str, tasks: list[TaskResult] | None = None, bench: list[BenchRow] | None = None
) -> dict[str, Any]:
    """What the stamp of a card of ``student`` rendered now says (model revision, results digest, org)."""
    tasks = collect_eval(student) if tasks is None else tasks
    bench = collect_bench(student) if bench is None else bench
    return {
        "lang": student.spec.code,
        "size": student.size,
        "org": org,
        "revision": student.revision,
        "results": results_digest(tasks, bench),
        "summary": results_summary(tasks, bench),
        "evaluated": sum(t.evaluated for t in tasks),
    }


def stamp_comment(stamp: dict[str, Any]) -> str:
    """The stamp as the HTML comment a card ends with."""
    return STAMP_PREFIX + json.dumps(stamp, ensure_ascii=False, sort_keys=True) + " -->"


def read_stamp(text: str) -> dict[str, Any] | None:
    """The ``time-zoo-card`` stamp of a rendered card, or None for a card that zoo did not write."""
    m = _STAMP_RE.search(text)
    if not m:
        return None
    try:
        return json.loads(m.group(1))
    except json.JSONDecodeError:
        return None
