"""The leaderboard: a typed JSON document built from the results store, and a static page rendered from it.

``build`` makes the rows from the result records, ``speed`` the efficiency columns, ``schema`` types the
document (:class:`Leaderboard`, ``zoo/schemas/leaderboard.schema.json``), ``page`` renders and writes the
static site (``template.html.j2``) and serves it.
"""

from zoo.leaderboard.build import DEFAULT_CARD_URL, ROLE_LABELS, build_leaderboard, card_url_for, pareto_front
from zoo.leaderboard.page import make_server, render_page, write_leaderboard
from zoo.leaderboard.schema import SCHEMA, Leaderboard
from zoo.leaderboard.speed import energy_label

__all__ = [
    "DEFAULT_CARD_URL",
    "ROLE_LABELS",
    "SCHEMA",
    "Leaderboard",
    "build_leaderboard",
    "card_url_for",
    "energy_label",
    "make_server",
    "pareto_front",
    "render_page",
    "write_leaderboard",
]
