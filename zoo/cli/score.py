"""``zoo score``: score system output against gold data with the official metrics.

``zoo score ud GOLD.conllu SYSTEM.conllu`` prints the CoNLL 2018 shared-task table (the official
script's ``--verbose`` output); ``--json`` prints metric → {precision, recall, f1, aligned_accuracy}
in percent; ``--verbose`` adds the raw counts (a second table, or count fields in the JSON). The JSON is
:func:`zoo.evaluation.metrics.ud_scores`, the function the ``conll18_ud`` evaluate module
(:mod:`zoo.metrics`) computes through too.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from zoo.cli.app import app

score_app = typer.Typer(no_args_is_help=True, help="Score system output against gold data.")
app.add_typer(score_app, name="score")


@score_app.callback()
def _score() -> None:
    """Score system output against gold data (official metrics)."""


@score_app.command("ud")
def score_ud(
    gold: Path = typer.Argument(..., help="Gold CoNLL-U file.", show_default=False),
    system: Path = typer.Argument(
        ..., help="System CoNLL-U file (same text, any tokenisation).", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON dict of metric → scores in percent."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also print raw counts (correct / gold / system / aligned)."
    ),
) -> None:
    """CoNLL 2018 UD metrics: Tokens … LAS, CLAS, MLAS, BLEX (as conll18_ud_eval.py)."""
    from zoo.evaluation.metrics import ud_scores
    from zoo.evaluation.ud.conll18 import evaluate_conllu, format_table

    if as_json:
        typer.echo(json.dumps(ud_scores(gold, system, counts=verbose), indent=2))
        return
    scores = evaluate_conllu(gold, system)
    typer.echo(format_table(scores))
    if verbose:
        typer.echo("")
        typer.echo(format_table(scores, counts=True))
