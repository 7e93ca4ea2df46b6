"""One exception type for every error a user can act on.

The CLI catches :class:`ZooError`, prints its one-line message (and hint) and exits with
``exit_code``; anything else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class ZooError(Exception):
    """An error caused by input or environment, with an actionable message."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"

    def __reduce__(self):  # keep hint and exit code across processes (zoo eval --jobs)
        return (self.__class__, (self.message, self.hint, self.exit_code))


class UsageError(ZooError):
    """Bad command-line input: unknown language, task, size, option value."""

    exit_code = 2


class DataError(ZooError):
    """A data file is missing or malformed; the message names the file (and line)."""


class ConfigError(ZooError):
    """A language spec or task definition is invalid; the message names the file and field."""


class OfflineError(ZooError):
    """Something must be downloaded but the Hub is unreachable or HF_HUB_OFFLINE=1."""


def did_you_mean(word: str, choices: list[str]) -> str | None:
    """Return the closest choice to ``word`` (case-insensitive, also by name prefix), if any."""
    import difflib

    low = word.lower()
    for c in choices:
        if c.lower() == low:
            return c
    close = difflib.get_close_matches(low, [c.lower() for c in choices], n=1, cutoff=0.5)
    if close:
        return next(c for c in choices if c.lower() == close[0])
    for c in choices:
        if low.startswith(c.lower()) or c.lower().startswith(low):
            return c
    return None
