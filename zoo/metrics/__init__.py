"""The zoo's metrics as Hugging Face ``evaluate`` modules, shipped in the package.

Each folder here is an evaluate metric module (``<name>/<name>.py`` and its metric card ``README.md``): a thin
``evaluate.Metric`` over :mod:`zoo.evaluation.metrics`, the functions the zoo's own runs and ``zoo score``
use, so a user's predictions are scored exactly as the zoo scores its own. Scores are in percent.

- ``conll18_ud``: CoNLL 2018 shared-task UD metrics of CoNLL-U text (``zoo score ud --json``);
- ``seqeval_ner``: seqeval entity precision / recall / F1 of IOB2 tag sequences (NER);
- ``classification``: accuracy and macro-F1 of labels (NLI, topics).

``evaluate.load(str(zoo.metrics.path("conll18_ud")))`` (or :func:`load`) works offline: the module is a
local file, nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    import evaluate

NAMES: tuple[str, ...] = ("conll18_ud", "seqeval_ner", "classification")


def path(name: str) -> Path:
    """The folder of the evaluate module ``name`` (what ``evaluate.load`` takes)."""
    if name not in NAMES:
        guess = did_you_mean(name, list(NAMES))
        hint = f"did you mean {guess!r}?" if guess else f"one of {', '.join(NAMES)}"
        raise UsageError(f"unknown metric module {name!r}", hint=hint)
    return Path(__file__).resolve().parent / name


def load(name: str, **kwargs: Any) -> evaluate.EvaluationModule:
    """``evaluate.load`` of the module ``name`` (keyword arguments go to ``evaluate.load``)."""
    import evaluate

    return evaluate.load(str(path(name)), **kwargs)
