"""Task metrics, in percent: seqeval entity F1 (NER), word accuracy (POS), accuracy and macro-F1 (classes).

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
    total = correct = 0
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ZooError(f"word accuracy: sentence {i} has {len(g)} gold tags but {len(p)} predicted")
        total += len(g)
        correct += sum(a == b for a, b in zip(g, p, strict=True))
    return {"accuracy": 100.0 * correct / total if total else 0.0}


def accuracy(gold: Sequence, pred: Sequence) -> float:
    """Share of equal labels, in percent."""
    _check_lengths(gold, pred, "accuracy")
    return 100.0 * sum(a == b for a, b in zip(gold, pred, strict=True)) / len(gold) if len(gold) else 0.0


def macro_f1(gold: Sequence, pred: Sequence) -> float:
    """Unweighted mean of per-class F1 over the classes seen in gold or predictions, in percent.

    A class with no true positives has F1 0 (scikit-learn's ``average="macro"`` with ``zero_division=0``).
    """
    _check_lengths(gold, pred, "macro-F1")
    classes = sorted(set(gold) | set(pred), key=str)
    if not classes:
        return 0.0
    f1s = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return 100.0 * sum(f1s) / len(f1s)


def classification_scores(gold: Sequence, pred: Sequence) -> dict[str, float]:
    """``accuracy`` and ``macro_f1`` in percent."""
    return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}
