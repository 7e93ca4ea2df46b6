"""Where things live: the data root, the work directory and the user cache.

- data root: ``--data-dir`` or ``ZOO_DATA_DIR``; else ``../shared/data`` next to a source checkout.
- work directory (students, results, cards, leaderboard): ``ZOO_WORK_DIR``, default ``./zoo-work``.
- cache (converted offline teacher, tokenised corpora): ``ZOO_CACHE_DIR``, default
  ``$XDG_CACHE_HOME/time-zoo`` or ``~/.cache/time-zoo``.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo.errors import DataError

REPO_ROOT = Path(__file__).resolve().parent.parent

_data_dir_override: Path | None = None


def set_data_dir(path: str | os.PathLike | None) -> None:
    """Set the data root for this process (the CLI's ``--data-dir``)."""
    global _data_dir_override
    _data_dir_override = Path(path).expanduser().resolve() if path else None


def data_dir(required: bool = True) -> Path | None:
    """The data root holding ``<lang>/{ud,ner,...}``; raises DataError when it is missing."""
    if _data_dir_override is not None:
        cand, source = _data_dir_override, "--data-dir"
    elif os.environ.get("ZOO_DATA_DIR"):
        cand, source = Path(os.environ["ZOO_DATA_DIR"]).expanduser().resolve(), "ZOO_DATA_DIR"
    else:
        cand, source = (REPO_ROOT.parent / "shared" / "data").resolve(), "default"
        if not cand.is_dir():
            if required:
                raise DataError(
                    "no data root: set ZOO_DATA_DIR or pass --data-dir",
                    hint="it must hold one folder per language, e.g. xh/ner/train.iob",
                )
            return None
    if not cand.is_dir():  # an explicit setting that is wrong is always an error
        raise DataError(f"data root {cand} (from {source}) does not exist or is not a directory")
    return cand


def work_dir() -> Path:
    """The work directory for students, results, cards and the leaderboard."""
    return Path(os.environ.get("ZOO_WORK_DIR", "zoo-work")).expanduser().resolve()


def cache_dir() -> Path:
    """The user cache (converted teachers, tokenised corpora)."""
    if os.environ.get("ZOO_CACHE_DIR"):
        return Path(os.environ["ZOO_CACHE_DIR"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "time-zoo"


def results_dir() -> Path:
    """Root of the results store (one JSON file per record)."""
    return work_dir() / "results"
