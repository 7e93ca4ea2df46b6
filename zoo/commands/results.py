"""``zoo results``: the evaluation table of a language from the results store."""

from __future__ import annotations

import json

import typer

from zoo.cli_app import app


@app.command("results")
def results_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    preset: str = typer.Option(None, "--preset", help="Only this eval preset (default: all, apart)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (per-seed values included)."),
) -> None:
    """Tasks × models: main metric mean ± 95% CI over seeds, and retention (student / teacher)."""
    from rich.console import Console

    from zoo.evaluation.report import load_summary, render_table
    from zoo.registry import get_language
    from zoo.results import results_dir

    spec = get_language(lang)
    rows = load_summary(spec.code, spec, preset)
    if as_json:
        typer.echo(json.dumps({"lang": spec.code, "rows": rows}, indent=2))
        return
    if not rows:
        typer.echo(f"no evaluation results for {spec.code} under {results_dir()}")
        typer.echo(f"run: zoo eval --lang {spec.code}")
        return
    Console().print(render_table(rows, title=f"{spec.name} ({spec.code})"))
