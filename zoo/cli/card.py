"""``zoo card``: write a student's model card (README.md) from its distillation record and results."""

from __future__ import annotations

import typer

from zoo.cli.app import app


@app.command("card")
def card_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    size: str = typer.Option(
        None, "--size", "-s", help="Student size (default: the language's recommended one)."
    ),
    model: str = typer.Option(None, "--model", help="A student directory (default: the zoo's own student)."),
    org: str = typer.Option(
        "time", "--org", help="Hub organisation the card names (repos org/time-<lang>[-size])."
    ),
) -> None:
    """Render the model card into <model dir>/README.md (atomically) and print its path."""
    from zoo.card import write_card

    typer.echo(str(write_card(lang, size, model, org)))
