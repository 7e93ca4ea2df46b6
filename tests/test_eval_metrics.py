"""Task metrics on hand-made examples with values worked out by hand."""

from __future__ import annotations

import pytest

from zoo.errors import ZooError
from zoo.evaluation import metrics


def test_entity_f1_two_of_three_found_plus_one_spurious():
    # gold entities: PER(0-1), LOC(3), ORG(5); predicted: PER(0-1), LOC(3), DATE(4) -> 2 correct of 3 and 3
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "B-DATE", "O"]]
    s = metrics.entity_scores(gold, pred)
    assert s["precision"] == pytest.approx(200 / 3)
    assert s["recall"] == pytest.approx(200 / 3)
    assert s["f1"] == pytest.approx(66.6667, abs=1e-3)


def test_entity_f1_needs_exact_span_and_type():
    gold = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    short_span = [["B-PER", "O", "O"], ["B-ORG", "O"]]  # PER(0) != PER(0-1); ORG != LOC
    assert metrics.entity_scores(gold, short_span)["f1"] == 0.0
    assert metrics.entity_scores(gold, gold)["f1"] == 100.0


def test_entity_f1_default_mode_reads_a_leading_I_as_an_entity():
    # seqeval's default (conlleval) mode: "I-PER I-PER" is the entity PER(0-1), as in MasakhaNER's baselines
    # (strict IOB2 mode would reject it and score 0)
    assert metrics.entity_scores([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])["f1"] == 100.0


def test_entity_scores_reject_misaligned_rows():
    with pytest.raises(ZooError, match="sentence 0"):
        metrics.entity_scores([["O", "O"]], [["O"]])


def test_word_accuracy():
    acc = metrics.word_accuracy([["A", "B"], ["C"]], [["A", "C"], ["C"]])["accuracy"]
    assert acc == pytest.approx(200 / 3)


def test_accuracy_and_macro_f1_by_hand():
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    # a: tp1 fp0 fn1 -> 2/3; b: tp1 fp2 fn0 -> 1/2; c: tp0 -> 0; macro = (2/3 + 1/2 + 0) / 3
    s = metrics.classification_scores(gold, pred)
    assert s["accuracy"] == 50.0
    assert s["macro_f1"] == pytest.approx(100 * (2 / 3 + 1 / 2) / 3)


def test_macro_f1_counts_a_class_that_is_only_predicted():
    gold = [0, 1, 2, 2, 1, 0, 3, 3, 3, 1]
    pred = [0, 2, 2, 1, 1, 0, 3, 0, 3, 4]
    # by hand: class 0 tp2 fp1 fn0 -> 4/5; 1: tp1 fp1 fn2 -> 2/5; 2: tp1 fp1 fn1 -> 1/2;
    # 3: tp2 fp0 fn1 -> 4/5; 4 (never gold): tp0 -> 0; macro = (0.8 + 0.4 + 0.5 + 0.8 + 0) / 5
    assert metrics.macro_f1(gold, pred) == pytest.approx(50.0)
    assert metrics.accuracy(gold, pred) == pytest.approx(60.0)


def test_empty_and_misaligned_inputs():
    assert metrics.classification_scores([], []) == {"accuracy": 0.0, "macro_f1": 0.0}
    assert metrics.word_accuracy([[]], [[]]) == {"accuracy": 0.0}
    with pytest.raises(ZooError, match="2 gold rows but 1 predictions"):
        metrics.classification_scores(["a", "b"], ["a"])
    with pytest.raises(ZooError, match="sentence 0"):
        metrics.word_accuracy([["A", "B"]], [["A"]])
