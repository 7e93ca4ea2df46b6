"""The constant baseline: every task's floor, from rules counted on the train split (no model, no training).

- Sentence tasks (nli, rte, topic): the majority train label for every row (ties: the lowest label index).
- Word tags (ner, pos): each word form's most frequent train tag (exact form; ties: the task's label order);
  forms unseen in train get the most frequent tag overall ("O" for NER).
- UD: each form's most frequent train UPOS, with the (XPOS, FEATS, LEMMA) it most often has under that UPOS
  (ties: first seen in train); unseen forms get the most frequent UPOS, XPOS and FEATS overall and their own
  form as lemma. The tree is a chain: the first word is the root, every other word is headed by the previous
  word with the most frequent non-root relation (full label, subtype included).

Splits and caps are the fine-tuned families' (:mod:`zoo.evaluation.splits`), so under a capped preset the
rules are counted on the same train rows the heads train on. The select split is not used (there is no epoch
to choose). Scores come from the families' own metric code, and the score split's predictions are written
in their formats.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, DataError
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.splits import load_task_splits, load_ud_split
from zoo.evaluation.types import TaskRun
from zoo.evaluation.ud.task import WordPrediction, write_and_score
from zoo.models import ModelRef
from zoo.registry import TaskSpec

CLASSIFICATION_FAMILIES = ("nli", "rte", "topic")
TAGGING_FAMILIES = ("ner", "pos")


def most_frequent(counts: Counter, order: Sequence[Hashable] | None = None) -> Any:
    """The value with the highest count; ties go to the earliest in ``order``, else the first counted."""
    if not counts:
        raise ValueError("nothing counted")
    if order is None:
        return counts.most_common(1)[0][0]  # equal counts keep the order first encountered
    rank = {v: i for i, v in enumerate(order)}
    return max(counts, key=lambda v: (counts[v], -rank.get(v, len(rank))))


def _train_sizes(sizes: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sizes.items() if k != "select"}  # the select split is not used


def run_constant_task(
    model: ModelRef, task: TaskSpec, seed: int, preset: EvalPreset, out_dir: Path
) -> TaskRun:
    """Score the constant baseline on ``task``; ``model`` and ``seed`` change nothing (deterministic)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if task.family in CLASSIFICATION_FAMILIES:
        return majority_label(task, preset, out_dir)
    if task.family in TAGGING_FAMILIES:
        return most_frequent_tag(task, preset, out_dir)
    if task.family == "ud":
        return most_frequent_analysis(task, preset, out_dir)
    raise ConfigError(
        f"no constant baseline for task family '{task.family}'",
        hint=f"families: {', '.join(CLASSIFICATION_FAMILIES + TAGGING_FAMILIES + ('ud',))}",
    )


def majority_label(task: TaskSpec, preset: EvalPreset, out_dir: Path) -> TaskRun:
    """Sentence tasks: the majority train label for every score row."""
    from zoo.evaluation.classification import label_ids, write_label_predictions
    from zoo.evaluation.metrics import classification_scores

    splits = load_task_splits(task, preset)
    labels = splits.labels
    y_train, y_score = label_ids(task, splits.train, labels), label_ids(task, splits.score, labels)
    if not y_train:
        raise DataError(f"{task.key}: the train split is empty, there is no majority label")
    counts = Counter(y_train)
    majority = most_frequent(counts, range(len(labels)))
    pred = [majority] * len(y_score)
    scores = classification_scores(y_score, pred)
    path = write_label_predictions(out_dir / "predictions.tsv", labels, y_score, pred)
    details = {
        "head": "constant",
        "rule": "majority label",
        "majority": labels[majority],
        "train_counts": {labels[i]: counts[i] for i in sorted(counts)},
        "split_sizes": _train_sizes(splits.sizes()),
        "labels": labels,
    }
    return TaskRun(scores={m: scores[m] for m in task.metrics}, details=details, predictions=path)


def tag_rules(
    sentences: Iterable[Sequence[str]], tags: Iterable[Sequence[str]], labels: Sequence[str]
) -> tuple[dict[str, str], str]:
    """Each form's most frequent tag, and the most frequent tag overall (ties: ``labels`` order)."""
    by_form: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for words, word_tags in zip(sentences, tags, strict=True):
        for w, t in zip(words, word_tags, strict=True):
            by_form[w][t] += 1
            overall[t] += 1
    return {w: most_frequent(c, labels) for w, c in by_form.items()}, most_frequent(overall, labels)


def most_frequent_tag(task: TaskSpec, preset: EvalPreset, out_dir: Path) -> TaskRun:
    """NER / POS: each word's most frequent train tag (unseen words: the most frequent tag overall)."""
    from zoo.evaluation.tagging import score_tags, write_tag_predictions

    splits = load_task_splits(task, preset)
    if not any(splits.train["tags"]):
        raise DataError(f"{task.key}: the train split has no tagged words")
    by_form, default = tag_rules(splits.train["tokens"], splits.train["tags"], splits.labels)
    sentences, gold = list(splits.score["tokens"]), list(splits.score["tags"])
    pred = [[by_form.get(w, default) for w in words] for words in sentences]
    scores = score_tags(task, gold, pred)
    path = write_tag_predictions(out_dir / "predictions.tsv", sentences, gold, pred)
    words = [w for s in sentences for w in s]
    details = {
        "head": "constant",
        "rule": "most frequent tag per word form",
        "unseen_form_tag": default,
        "forms": len(by_form),
        "score_words": len(words),
        "score_words_unseen": sum(w not in by_form for w in words),
        "split_sizes": _train_sizes(splits.sizes()),
        "labels": splits.labels,
    }
    return TaskRun(scores=scores, details=details, predictions=path)


@dataclass
class UDRules:
    """What the UD baseline learnt from the train sentences."""

    upos: dict[str, str]  # form -> most frequent UPOS
    rest: dict[tuple[str, str], tuple[str, str, str]]  # (form, UPOS) -> most frequent (XPOS, FEATS, LEMMA)
    default_upos: str
    default_xpos: str
    default_feats: str
    deprel: str  # the most frequent relation of non-root words

    @classmethod
    def learn(cls, sentences) -> UDRules:
        """Count the rules on ``sentences`` (``zoo.data.conllu.Sentence``)."""
        upos: dict[str, Counter] = defaultdict(Counter)
        rest: dict[tuple[str, str], Counter] = defaultdict(Counter)
        overall: dict[str, Counter] = {"upos": Counter(), "xpos": Counter(), "feats": Counter()}
        deprels: Counter = Counter()
        for s in sentences:
            for w in s.words:
                form, lemma, u, x, f, deprel = w[1], w[2], w[3], w[4], w[5], w[7]
                upos[form][u] += 1
                rest[form, u][x, f, lemma] += 1
                overall["upos"][u] += 1
                overall["xpos"][x] += 1
                overall["feats"][f] += 1
                if deprel.split(":")[0] != "root":
                    deprels[deprel] += 1
        return cls(
            upos={form: most_frequent(c) for form, c in upos.items()},
            rest={key: most_frequent(c) for key, c in rest.items()},
            default_upos=most_frequent(overall["upos"]),
            default_xpos=most_frequent(overall["xpos"]),
            default_feats=most_frequent(overall["feats"]),
            deprel=most_frequent(deprels) if deprels else "dep",
        )

    def predict(self, forms: Sequence[str]) -> WordPrediction:
        """The analysis of one sentence: per-form rules and a left-to-right chain."""
        out = WordPrediction([], [], [], [], [], [])
        for i, form in enumerate(forms):
            if form in self.upos:
                u = self.upos[form]
                x, f, lemma = self.rest[form, u]
            else:
                u, x, f, lemma = self.default_upos, self.default_xpos, self.default_feats, form
            out.upos.append(u)
            out.xpos.append(x)
            out.feats.append(f)
            out.lemma.append(lemma)
            out.head.append(i)  # word i + 1 is headed by word i; the first word by 0, the root
            out.deprel.append("root" if i == 0 else self.deprel)
        return out


def most_frequent_analysis(task: TaskSpec, preset: EvalPreset, out_dir: Path) -> TaskRun:
    """UD: per-form tags, features and lemma; a chain tree; CoNLL 2018 scores."""
    full_train, train = load_ud_split(task, "train", preset)
    full_score, score = load_ud_split(task, "score", preset)
    if not train:
        raise DataError(f"{task.key}: the train split has no sentences")
    rules = UDRules.learn(train)
    preds = [rules.predict(s.column("form")) for s in score]
    pred_path, scores, subset = write_and_score(task, score, full_score, preds, out_dir)
    forms = [w for s in score for w in s.column("form")]
    details = {
        "head": "constant",
        "rule": "most frequent analysis per word form; each word headed by the previous one",
        "unseen_form_analysis": {
            "upos": rules.default_upos,
            "xpos": rules.default_xpos,
            "feats": rules.default_feats,
            "lemma": "the form",
        },
        "deprel": rules.deprel,
        "forms": len(rules.upos),
        "score_words": len(forms),
        "score_words_unseen": sum(w not in rules.upos for w in forms),
        "split_sizes": {"train": len(train), "score": len(score), "train_available": len(full_train)},
    }
    return TaskRun(scores=scores, details=details, predictions=pred_path, gold=subset)
