"""The ``zoo`` entry point: global options, the command modules, one-line errors.

Each command lives in ``zoo/cli/<name>.py`` and registers itself on the shared Typer app (``zoo/cli/app.py``);
commands only parse options and call library functions (the library never calls the CLI).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from zoo.cli.app import app, options
from zoo.errors import ZooError

COMMAND_MODULES = [
    "info",
    "teacher",
    "score",
    "card",
    "publish",
    "leaderboard",
    "distill",
    "run",
    "evaluate",
    "results",
    "bench",
    "lm_eval",
]



@app.callback()
def _global_options(
    data_dir: str = typer.Option(None, "--data-dir", help="Data root (default: $ZOO_DATA_DIR)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """TiME Zoo: tiny monolingual encoders, distilled, evaluated, benchmarked and published."""
    from zoo.paths import set_data_dir

    options.debug = debug or os.environ.get("ZOO_DEBUG") == "1"
    if data_dir:
        set_data_dir(data_dir)


for _name in COMMAND_MODULES:
    importlib.import_module(f"zoo.cli.{_name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        app(args=argv, prog_name="zoo")  # click handles --help and usage errors (exit 2) itself
    except ZooError as e:
        if options.debug:
            raise
        typer.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # a bug: one line unless --debug
        if options.debug:
            raise
        typer.echo(
            f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)", err=True
        )
        sys.exit(1)

