"""Task metrics, in percent: seqeval entity F1 (NER), word accuracy (POS), accuracy and macro-F1 (classes),
from the libraries that define them (seqeval; scikit-learn for accuracy and macro-F1).

NER uses seqeval in its *default* (conlleval-compatible) mode on IOB2 tags, as the MasakhaNER baselines
do: an entity is a maximal span of ``B-X I-X ...`` (an ``I-X`` after ``O`` or another type opens a new
entity, as conlleval reads it), and a predicted entity counts only when its span and type both equal a
gold entity's. Precision, recall and F1 are micro-averaged over entities.
"""

from __future__ import annotations

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
