"""Published reference scores ("reported" rows): read from the registry, always shown apart from ours.

A task may list scores from the literature in its language file (``reported:``, typed as
:class:`zoo.registry.ReportedScore`), each with its citation and the protocol it was obtained under, which
is rarely ours. They are context, not results: never in the measured table, a mean, a retention or a
Pareto front. ``zoo results`` prints them in their own table below the measured one, also when nothing
has been measured yet (they describe the task, not our runs); the leaderboard carries them per language
(``languages[].reported``) and its page shows them in a separate table per language.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooError
from zoo.registry import LanguageSpec, get_language

TITLE = "Reported in the literature, not measured here"
_GROUP_KEYS = ("task", "model", "citation", "url", "protocol", "note")


def reported_rows(spec: LanguageSpec) -> list[dict[str, Any]]:
    """One JSON-ready dict per published score: tasks in the language's order, scores in file order."""
    return [
        {"task": task.name, "model": r.model, "metric": r.metric, "score": r.score, "citation": r.citation,
         "url": r.url, "protocol": r.protocol, "note": r.note}
        for task in spec.tasks.values() for r in task.reported
    ]


def reported_for_language(code: str) -> list[dict[str, Any]]:
    """:func:`reported_rows` of a language code; empty for a code the registry does not know."""
    try:
        return reported_rows(get_language(code))
    except ZooError:
        return []


def group_reported(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one source, task and model merged: ``{task, model, citation, url, protocol, note, scores}``,
    ``scores`` a list of ``{metric, score}``; groups and scores keep the order of ``rows``."""
    groups: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in _GROUP_KEYS)
        group = groups.setdefault(key, {**dict(zip(_GROUP_KEYS, key, strict=True)), "scores": []})
        group["scores"].append({"metric": row["metric"], "score": row["score"]})
    return list(groups.values())


def format_scores(scores: list[dict[str, Any]], sep: str = " · ") -> str:
    """``LAS 87.67 · UAS 90.59``: each score in its shortest form (78.30 prints as 78.3)."""
    return sep.join(f"{s['metric']} {s['score']:g}" for s in scores)


def render_reported_table(rows: list[dict[str, Any]], title: str = TITLE):
    """Reported scores for a terminal: a table (one row per source, task and model) and, under it, the
    numbered sources with their notes; None when there are none."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return None
    table = Table(title=title, title_style="bold", border_style="dim", show_lines=True,
                  caption="copied from the sources below, under their own protocols; never averaged with, "
                          "or ranked among, measured scores")
    for name in ("task", "model", "published (%)", "protocol", "source"):
        table.add_column(name, overflow="fold")
    sources = Text()
    for i, g in enumerate(group_reported(rows), start=1):
        table.add_row(Text(g["task"]), Text(g["model"]), Text(format_scores(g["scores"], "\n")),
                      Text(g["protocol"]), Text(f"[{i}]"))
        sources.append(f"[{i}] {g['citation']}\n    {g['url']}\n")
        if g["note"]:
            sources.append(f"    {g['note']}\n", style="italic")
    return Group(table, sources)
