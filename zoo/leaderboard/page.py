"""The leaderboard as a static site: ``index.html`` rendered from ``template.html.j2`` with the leaderboard
embedded (all CSS and JS inline, no network, works from ``file://`` and any static host), written next to
``leaderboard.json`` and its JSON Schema; and a local HTTP server for ``zoo leaderboard serve``."""

from __future__ import annotations

import functools
import http.server
import json
import os
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError
from zoo.fileio import write_text_atomic
from zoo.leaderboard.schema import Leaderboard
from zoo.results.reported import group_reported

TEMPLATE_PATH = Path(__file__).resolve().parent / "template.html.j2"


def _embed_json(document: dict[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<`` can close the element)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def render_page(board: Leaderboard, template: Path = TEMPLATE_PATH) -> str:
    """The self-contained ``index.html`` with the leaderboard embedded."""
    import jinja2

    if not template.is_file():
        raise ZooError(f"leaderboard template not found: {template}")
    document = board.to_json()  # the template and the page's JavaScript read the JSON keys
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["reported_groups"] = group_reported
    page = env.from_string(template.read_text(encoding="utf-8"))
    return page.render(board=document, board_json=_embed_json(document))


def write_leaderboard(board: Leaderboard, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write leaderboard.json, leaderboard.schema.json and index.html into ``out_dir``, each atomically."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    html = render_page(board)
    paths = {
        "json": board.write(out / "leaderboard.json"),
        "schema": write_text_atomic(out / "leaderboard.schema.json", Leaderboard.schema_text()),
        "html": write_text_atomic(out / "index.html", html),
    }
    for path in paths.values():  # temp files are private (0600); a static site must be world-readable
        path.chmod(0o644)
    return paths


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def make_server(
    directory: str | os.PathLike, port: int = 8000, host: str = "127.0.0.1", quiet: bool = False
) -> http.server.ThreadingHTTPServer:
    """An HTTP server for ``directory`` bound to ``host`` (127.0.0.1 by default); port 0 picks a free one."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise UsageError(f"no index.html in {directory}", hint="run: zoo leaderboard build --out DIR")
    handler = functools.partial(
        _QuietHandler if quiet else http.server.SimpleHTTPRequestHandler, directory=str(directory)
    )
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise UsageError(
            f"cannot listen on {host}:{port}: {e.strerror or e}", hint="pick another port with --port"
        ) from None
