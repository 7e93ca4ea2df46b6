"""The ``zoo`` command line: a thin layer of Typer commands over library functions."""

from zoo.cli.main import main

__all__ = ["main"]
