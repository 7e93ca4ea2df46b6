"""The shared Typer app every command module registers on, and the global options' state."""

from dataclasses import dataclass

import typer

app = typer.Typer(no_args_is_help=True, help="TiME Zoo", pretty_exceptions_enable=False)


@dataclass
class GlobalOptions:
    """Options of ``zoo`` itself (before the command): ``--debug`` shows tracebacks."""

    debug: bool = False


options = GlobalOptions()
