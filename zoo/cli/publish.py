"""``zoo publish``: push a student to the Hugging Face Hub, or into a local Hub cache."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from zoo.cli.app import app
from zoo.errors import UsageError


@app.command("publish")
def publish_cmd(
    dest: Path = typer.Argument(
        None, help="With --to local: the Hub cache directory to write (HF_HUB_CACHE)."
    ),
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    size: str = typer.Option(
        None, "--size", "-s", help="Student size (default: the language's recommended one)."
    ),
    model: str = typer.Option(None, "--model", help="A student directory (default: the zoo's own student)."),
    to: str = typer.Option(
        ..., "--to", help="'hub' (HfApi, token from HF_TOKEN) or 'local' DIR (a Hub cache)."
    ),
    org: str = typer.Option(
        "time", "--org", help="Hub organisation (repos org/time-<lang> and org/time-<lang>-<size>)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the operations; touch no network and no files."
    ),
    allow_unevaluated: bool = typer.Option(
        False, "--allow-unevaluated", help="Publish a model with no results."
    ),
) -> None:
    """Publish config, weights, tokenizer, distillation.json, id map and README.md (never checkpoints)."""
    from zoo import hub

    if to not in ("hub", "local"):
        raise UsageError(f"--to {to!r}: expected 'hub' or 'local'")
    if to == "local" and dest is None:
        raise UsageError("--to local needs a directory", hint="zoo publish --lang xh --to local ./hf-cache")
    if to == "hub" and dest is not None:
        raise UsageError(f"unexpected argument {dest} with --to hub")
    plan = hub.plan_publish(lang, size, model, org, allow_unevaluated)
    if dry_run:
        for line in hub.describe(plan, to):
            typer.echo(line)
        if to == "hub":
            typer.echo(f"token: HF_TOKEN is {'set' if os.environ.get('HF_TOKEN') else 'NOT set'}")
        typer.echo("dry run: nothing was written or sent")
        return
    for w in plan.warnings:
        typer.echo(f"warning: {w}", err=True)
    if to == "hub":
        for url in hub.publish_hub(plan):
            typer.echo(url)
        return
    for snap in hub.publish_local(plan, dest):
        state = "unchanged" if not snap.changed else f"refs/main {snap.previous or '(new)'} -> {snap.commit}"
        typer.echo(f"{snap.repo_id}: {snap.folder} ({state})")
