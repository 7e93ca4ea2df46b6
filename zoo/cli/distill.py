"""``zoo distill``: distil a student for one language and size (MiniLMv2 relations, HF Trainer).

Several processes: ``accelerate launch --multi_gpu --num_processes N -m zoo.distill --lang xh --size xs``
or ``torchrun --nproc_per_node N -m zoo.distill ...`` take the same options; without a GPU the processes
train on CPU with gloo (``accelerate launch --cpu`` alone starts ONE process unless MPI is set up).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from zoo.cli.app import app
from zoo.overrides import parse_sets


@app.command("distill")
def distill_cmd(
    lang: str = typer.Option(..., "--lang", help="Language code, e.g. xh."),
    size: str = typer.Option("xs", "--size", help="Student size: xs, s or m."),
    preset: str = typer.Option("cpu", "--preset", help="smoke, cpu or time-gpu."),
    out: Path = typer.Option(
        None, "--out", help="Student directory (default: <work>/students/time-<lang>-<size>)."
    ),
    teacher: str = typer.Option(
        None, "--teacher", help="Teacher: Hub id or local dir (default: the language's)."
    ),
    online: bool = typer.Option(False, "--online", help="Use the language's online teacher (needs the Hub)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Override the preset's number of steps."),
    sets: list[str] = typer.Option(
        [], "--set", help="Override any preset field: --set FIELD=VALUE (repeatable)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a finished student in the output directory."),
    restart: bool = typer.Option(
        False, "--restart", help="Discard the run's checkpoints instead of resuming."
    ),
) -> None:
    """Distil the student and write it to its directory; rerunning after an interruption resumes.

    Several processes: accelerate launch --multi_gpu --num_processes N -m zoo.distill --lang ... (same
    options; on a machine without GPUs they train on CPU).
    """
    from zoo.distill.run import distill

    overrides = parse_sets(sets)
    if max_steps is not None:
        overrides["max_steps"] = str(max_steps)
    path = distill(
        lang,
        size,
        preset=preset,
        overrides=overrides,
        out=out,
        teacher=teacher,
        online=online,
        force=force,
        restart=restart,
    )
    if os.environ.get("RANK", "0") == "0":  # one line from the main process under torchrun/accelerate
        typer.echo(str(path))
