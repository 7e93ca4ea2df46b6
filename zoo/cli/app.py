"""The shared Typer app every command module registers on."""

import typer

app = typer.Typer(no_args_is_help=True, help="TiME Zoo", pretty_exceptions_enable=False)
