"""``zoo leaderboard build`` (JSON + static page from the results store) and ``zoo leaderboard serve``."""

from __future__ import annotations

from pathlib import Path

import typer

from zoo.cli.app import app

leaderboard_app = typer.Typer(no_args_is_help=True, help="Build the leaderboard (JSON + page); serve it.")
app.add_typer(leaderboard_app, name="leaderboard")


def _default_out() -> Path:
    from zoo.paths import work_dir

    return work_dir() / "leaderboard"


@leaderboard_app.command("build")
def build_cmd(
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (default: <work dir>/leaderboard)."),
    results_root: Path = typer.Option(None, "--results", help="Results store (default: <work dir>/results)."),
    card_url: str = typer.Option(
        None,
        "--card-url",
        help="Card link of students: a template with {model_id}, {lang}, {size}, e.g. a Hub URL or "
        "a relative path such as ../cards/{model_id}/README.md (default: https://huggingface.co/time/{model_id}).",
    ),
    preset: str = typer.Option(
        None,
        "--preset",
        help="Use this eval preset for every language (default: each language's most complete preset).",
    ),
) -> None:
    """Write leaderboard.json, leaderboard.schema.json and index.html from the results store."""
    from zoo.errors import UsageError
    from zoo.leaderboard import DEFAULT_CARD_URL, build_leaderboard, write_leaderboard

    if results_root is not None and not results_root.is_dir():
        raise UsageError(f"--results {results_root} is not a directory")
    board = build_leaderboard(root=results_root, card_url=card_url or DEFAULT_CARD_URL, preset=preset)
    out = out or _default_out()
    paths = write_leaderboard(board, out)
    for lang in board.languages:
        n = sum(r.lang == lang.code for r in board.rows)
        typer.echo(f"{lang.code}: {n} rows, preset {lang.preset or '-'}, {len(lang.tasks)} tasks")
    typer.echo(f"wrote {paths['json']} ({len(board.rows)} rows from {board.n_records} records)")
    typer.echo(f"wrote {paths['html']}  (open it directly, or: zoo leaderboard serve --dir {out})")


@leaderboard_app.command("serve")
def serve_cmd(
    directory: Path = typer.Option(
        None, "--dir", "-d", help="Folder with index.html (default: <work dir>/leaderboard)."
    ),
    port: int = typer.Option(
        8000, "--port", "-p", min=0, max=65535, help="Port on 127.0.0.1 (0 = any free port)."
    ),
) -> None:
    """Serve the leaderboard folder on http://127.0.0.1:PORT/ until Ctrl-C."""
    from zoo.leaderboard import make_server

    directory = directory or _default_out()
    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    typer.echo(f"serving {directory} at http://{host}:{bound}/  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
