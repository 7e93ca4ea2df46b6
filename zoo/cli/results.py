"""``zoo results``: the evaluation table of a language from the results store, and the reported rows.

Scores published in the literature for the language's tasks (``reported:`` in its language file) follow
in their own table, also when nothing has been measured yet: they describe the tasks, not our runs.
"""

from __future__ import annotations

import json

import typer

from zoo.cli.app import app


@app.command("results")
def results_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    preset: str = typer.Option(None, "--preset", help="Only this eval preset (default: all, apart)."),
    metrics: list[str] = typer.Option(
        None, "--metric", "-m",
        help="Show this score instead of each task's main metric (repeatable, e.g. --metric UPOS --metric "
             "LAS: a row each, with its retention); tasks without it show their main metric.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (per-seed values included)."),
) -> None:
    """Tasks × models: main metric (or ``--metric``) mean ± 95% CI over seeds, retention (student /
    teacher); then the scores reported in the literature for those tasks, apart."""
    from rich.console import Console

    from zoo.paths import results_dir
    from zoo.registry import get_language
    from zoo.results.reported import render_reported_table, reported_rows
    from zoo.results.store import load_records
    from zoo.results.tables import metrics_of, render_table, runtime_check_lines, summarize

    spec = get_language(lang)
    records = load_records(spec.code, kind="eval")
    _check_metrics(metrics or [], metrics_of(records))
    rows = summarize(records, spec, preset, metrics)
    reported = reported_rows(spec)
    if as_json:
        typer.echo(json.dumps({"lang": spec.code, "rows": rows, "reported": reported}, indent=2))
        return
    console = Console()
    if rows:
        console.print(render_table(rows, title=f"{spec.name} ({spec.code})"))
        for line in runtime_check_lines(rows):
            console.print(line, highlight=False, soft_wrap=True)
    else:
        typer.echo(f"no evaluation results for {spec.code} under {results_dir()}")
        typer.echo(f"run: zoo eval --lang {spec.code}")
    if reported:
        console.print(render_reported_table(reported, title=f"{spec.name} ({spec.code}): reported in the "
                                                            "literature, not measured here"))


def _check_metrics(asked: list[str], known: list[str]) -> None:
    """A UsageError (with a did-you-mean) for a ``--metric`` no stored record has."""
    from zoo.errors import UsageError, did_you_mean

    for name in asked:
        if known and name not in known:
            guess = did_you_mean(name, known)
            hint = f"did you mean '{guess}'? " if guess else ""
            raise UsageError(f"no stored score is called '{name}'", hint=f"{hint}scores: {', '.join(known)}")
