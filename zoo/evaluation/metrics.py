"""Task metrics, in percent: seqeval entity F1 (NER), word accuracy (POS), accuracy and macro-F1 (classes),
from the libraries that define them (seqeval; scikit-learn for accuracy and macro-F1), and the CoNLL 2018
UD metrics (the official scorer's port, :mod:`zoo.evaluation.ud.conll18`).

These functions are the one implementation: the zoo's runs, ``zoo score`` and the ``evaluate`` modules of
:mod:`zoo.metrics` (``evaluate.load(zoo.metrics.path(...))``) all compute through them.

NER uses seqeval in its *default* (conlleval-compatible) mode on IOB2 tags, as the MasakhaNER baselines
do: an entity is a maximal span of ``B-X I-X ...`` (an ``I-X`` after ``O`` or another type opens a new
entity, as conlleval reads it), and a predicted entity counts only when its span and type both equal a
gold entity's. Precision, recall and F1 are micro-averaged over entities.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from zoo.errors import ZooError


def _check_lengths(gold: Sequence, pred: Sequence, what: str) -> None:
    if len(gold) != len(pred):
        raise ZooError(f"{what}: {len(gold)} gold rows but {len(pred)} predictions")


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """seqeval (default mode) entity ``precision``, ``recall`` and ``f1`` in percent."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    _check_lengths(gold, pred, "entity scores")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ZooError(f"entity scores: sentence {i} has {len(g)} gold tags but {len(p)} predicted")
    return {
        "precision": 100.0 * float(precision_score(gold, pred, zero_division=0)),
        "recall": 100.0 * float(recall_score(gold, pred, zero_division=0)),
        "f1": 100.0 * float(f1_score(gold, pred, zero_division=0)),
    }


def word_accuracy(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Share of words whose predicted tag equals the gold tag, in percent (``accuracy``)."""
    _check_lengths(gold, pred, "word accuracy")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ZooError(f"word accuracy: sentence {i} has {len(g)} gold tags but {len(p)} predicted")
    return {"accuracy": accuracy([t for s in gold for t in s], [t for s in pred for t in s])}


def accuracy(gold: Sequence, pred: Sequence) -> float:
    """Share of equal labels, in percent (scikit-learn's ``accuracy_score``; 0 for no rows)."""
    from sklearn.metrics import accuracy_score

    _check_lengths(gold, pred, "accuracy")
    return 100.0 * float(accuracy_score(list(gold), list(pred))) if len(gold) else 0.0


def macro_f1(gold: Sequence, pred: Sequence) -> float:
    """Unweighted mean of per-class F1 over the classes seen in gold or predictions, in percent (scikit-
    learn's ``f1_score(average="macro", zero_division=0)``: a class without a true positive has F1 0)."""
    from sklearn.metrics import f1_score

    _check_lengths(gold, pred, "macro-F1")
    if not len(gold):
        return 0.0
    return 100.0 * float(f1_score(list(gold), list(pred), average="macro", zero_division=0))


def classification_scores(gold: Sequence, pred: Sequence) -> dict[str, float]:
    """``accuracy`` and ``macro_f1`` in percent."""
    return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}


def ud_scores(gold: str | os.PathLike, system: str | os.PathLike, counts: bool = False) -> dict[str, dict]:
    """CoNLL 2018 metrics of a system CoNLL-U file against a gold one, as ``zoo score ud --json`` prints
    them: metric → ``precision``, ``recall``, ``f1``, ``aligned_accuracy`` in percent (plus raw counts)."""
    from zoo.evaluation.ud import conll18

    return conll18.scores_to_json(conll18.evaluate_conllu(gold, system), counts=counts)


def ud_text_scores(gold: Sequence[str], system: Sequence[str], counts: bool = False) -> dict[str, dict]:
    """:func:`ud_scores` of CoNLL-U text: each item holds whole sentences (a file, or one sentence; the
    empty line after its last sentence may be left out); the items are joined in order, so only the
    concatenated text counts, as in the official script. Errors name ``<gold>`` / ``<system>`` and the
    line of the joined text."""
    from zoo.evaluation.ud import conll18

    if isinstance(gold, str) or isinstance(system, str):
        raise ZooError("UD scores: pass lists of CoNLL-U texts (one item per file or sentence), not a string")
    gold_tb = conll18.load_conllu_text(_join_conllu(gold), "<gold>")
    system_tb = conll18.load_conllu_text(_join_conllu(system), "<system>")
    return conll18.scores_to_json(conll18.evaluate(gold_tb, system_tb), counts=counts)


def _join_conllu(texts: Sequence[str]) -> str:
    """CoNLL-U items joined, each closed by an empty line where it lacks one."""
    return "".join(t if t.endswith("\n\n") else t.rstrip("\r\n") + "\n\n" for t in texts if t.strip())
