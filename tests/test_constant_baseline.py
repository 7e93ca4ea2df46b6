"""The constant baseline on real data: expected scores are counted here from the raw files (json, plain
line splitting, collections.Counter), not with the project's readers or rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_bad_input import zoo

from zoo.errors import UsageError
from zoo.evaluation.dispatch import model_seeds, run_task
from zoo.evaluation.presets import get_preset
from zoo.models import constant_baseline_ref, default_models, resolve_models
from zoo.registry import get_language
from zoo.results.tables import ROLE_ORDER, column_label

Sentences = list[list[tuple[str, str]]]
FULL = get_preset("full")  # no caps: the rules see the whole train split, the score split is whole


def _jsonl_labels(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["label"] for line in lines if line.strip()]


def _tagged(path: Path) -> Sentences:
    """``token<TAB>tag`` lines, a blank line between sentences."""
    sentences, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            token, tag = line.split("\t")
            cur.append((token, tag))
        elif cur:
            sentences.append(cur)
            cur = []
    if cur:
        sentences.append(cur)
    return sentences


def _tag_predictions(train: Sentences, test: Sentences) -> list[list[str]]:
    """Most frequent train tag per form (unseen: overall); ties by sorted tag (the task's label order)."""
    labels = sorted({t for s in train for _, t in s})
    per_form: dict[str, Counter] = {}
    for s in train:
        for w, t in s:
            per_form.setdefault(w, Counter())[t] += 1
    overall = Counter(t for s in train for _, t in s)

    def best(c: Counter) -> str:
        top = max(c.values())
        return next(lab for lab in labels if c[lab] == top)

    return [[best(per_form[w]) if w in per_form else best(overall) for w, _ in s] for s in test]


def _run(lang: str, task: str, tmp_path: Path, preset=FULL):
    return run_task(constant_baseline_ref(), get_language(lang).task(task), 0, preset, tmp_path)


def test_afrixnli_majority_label(data_root, tmp_path):
    dev = _jsonl_labels(data_root / "xh/nli/dev.jsonl")
    train = dev[: len(dev) * 80 // 100]  # xh.yaml: train = dev[:80%]
    test = _jsonl_labels(data_root / "xh/nli/test.jsonl")
    counts = Counter(train)
    top = max(counts.values())
    majority = min(label for label, n in counts.items() if n == top)
    accuracy = 100 * sum(y == majority for y in test) / len(test)
    n = sum(y == majority for y in test)
    # macro-F1 over the classes in gold: the majority class has F1 2n/(N+n), the others 0
    macro = 100 * (2 * n / (len(test) + n)) / len(set(test))

    run = _run("xh", "afrixnli", tmp_path)
    names = ["entailment", "neutral", "contradiction"]
    assert run.details["majority"] == names[majority]
    assert run.details["train_counts"] == {names[k]: v for k, v in sorted(counts.items())}
    assert run.scores["accuracy"] == pytest.approx(accuracy)
    assert run.scores["macro_f1"] == pytest.approx(macro)
    assert run.details["head"] == "constant" and run.details["rule"] == "majority label"
    sizes = {"train": len(train), "score": len(test), "train_available": len(train)}
    assert run.details["split_sizes"] == sizes
    rows = run.predictions.read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == len(test) and {r.split("\t")[2] for r in rows} == {names[majority]}


def test_a_capped_train_split_gives_the_rules_the_same_rows_as_the_heads(data_root, tmp_path):
    dev = _jsonl_labels(data_root / "xh/nli/dev.jsonl")
    train = dev[: len(dev) * 80 // 100]
    keep = sorted(np.random.default_rng(0).permutation(len(train))[:50])  # training.cap: seed 0, file order
    names = ["entailment", "neutral", "contradiction"]
    expected = Counter(names[train[i]] for i in keep)
    run = _run("xh", "afrixnli", tmp_path, FULL.override(name="cap50", max_train_examples=50))
    assert run.details["train_counts"] == dict(expected)
    assert run.details["split_sizes"]["train"] == 50


def test_masakhapos_most_frequent_tag(data_root, tmp_path):
    train = _tagged(data_root / "xh/pos/masakhapos/train.tsv")
    test = _tagged(data_root / "xh/pos/masakhapos/test.tsv")
    pred = _tag_predictions(train, test)
    gold = [[t for _, t in s] for s in test]
    words = sum(len(s) for s in gold)
    correct = sum(p == g for ps, gs in zip(pred, gold, strict=True) for p, g in zip(ps, gs, strict=True))
    accuracy = 100 * correct / words

    run = _run("xh", "masakhapos", tmp_path)
    assert run.scores == {"accuracy": pytest.approx(accuracy)}
    assert 40 < accuracy < 100  # a real floor, not a degenerate one
    seen = {w for s in train for w, _ in s}
    assert run.details["score_words"] == words
    assert run.details["score_words_unseen"] == sum(w not in seen for s in test for w, _ in s)


def test_masakhaner_most_frequent_tag_gives_a_real_seqeval_f1(data_root, tmp_path):
    from seqeval.metrics import f1_score, precision_score, recall_score

    train = _tagged(data_root / "xh/ner/train.iob")
    test = _tagged(data_root / "xh/ner/test.iob")
    pred = _tag_predictions(train, test)
    gold = [[t for _, t in s] for s in test]

    run = _run("xh", "masakhaner", tmp_path)
    assert run.details["unseen_form_tag"] == "O"
    assert run.scores["f1"] == pytest.approx(100 * f1_score(gold, pred))
    assert run.scores["precision"] == pytest.approx(100 * precision_score(gold, pred))
    assert run.scores["recall"] == pytest.approx(100 * recall_score(gold, pred))
    assert run.scores["f1"] > 0


def _conllu_words(path: Path) -> list[list[list[str]]]:
    """Sentences of word rows (integer IDs only), columns split on tabs."""
    sentences, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if cur:
                sentences.append(cur)
            cur = []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if cols[0].isdigit():
                cur.append(cols)
    if cur:
        sentences.append(cur)
    return sentences


def test_afribooms_upos_and_chain_tree(data_root, tmp_path):
    train = _conllu_words(data_root / "af/ud/train.conllu")
    test = _conllu_words(data_root / "af/ud/test.conllu")
    # most frequent UPOS per form; ties: the UPOS seen first in train
    counts: dict[str, dict[str, list[int]]] = {}  # form -> upos -> [count, first position]
    overall: dict[str, list[int]] = {}
    position = 0
    for s in train:
        for w in s:
            form, upos = w[1], w[3]
            counts.setdefault(form, {}).setdefault(upos, [0, position])[0] += 1
            overall.setdefault(upos, [0, position])[0] += 1
            position += 1

    def best(c: dict[str, list[int]]) -> str:
        return max(c, key=lambda u: (c[u][0], -c[u][1]))

    words = [w for s in test for w in s]
    correct = sum((best(counts[w[1]]) if w[1] in counts else best(overall)) == w[3] for w in words)
    chained = sum(int(w[6]) == int(w[0]) - 1 for w in words)  # gold head = previous word (0 for the first)

    run = _run("af", "afribooms", tmp_path)
    assert run.scores["UPOS"] == pytest.approx(100 * correct / len(words), abs=1e-4)
    assert run.scores["UAS"] == pytest.approx(100 * chained / len(words), abs=1e-4)
    assert set(run.scores) == set(get_language("af").task("afribooms").metrics)
    assert run.details["score_words"] == len(words)
    predicted = _conllu_words(run.predictions)
    assert [len(s) for s in predicted] == [len(s) for s in test]
    assert all(s[0][7] == "root" and [int(w[6]) for w in s] == list(range(len(s))) for s in predicted)


def test_the_constant_model_runs_once_and_is_never_loaded_or_timed():
    spec = get_language("xh")
    [ref] = resolve_models(spec, ["constant"])
    assert (ref.id, ref.role, ref.revision()) == ("constant", "constant-baseline", "constant-v1")
    assert ref.info({}).params == {}
    assert model_seeds(ref, [0, 1, 2]) == [0]
    with pytest.raises(UsageError, match="no weights"):
        ref.load_model()
    assert default_models(spec)[-1].role == "constant-baseline"
    from zoo.bench.config import bench_models

    with pytest.raises(UsageError, match="no weights to time"):
        bench_models(spec, ["constant"])
    assert all(r.role != "constant-baseline" for r in bench_models(spec, ["students", "teacher"]))
    assert ROLE_ORDER["random-baseline"] < ROLE_ORDER["constant-baseline"] < ROLE_ORDER["teacher"]
    assert column_label({"id": "constant", "role": "constant-baseline"}) == "constant\n(constant baseline)"


def test_zoo_eval_writes_one_record_for_three_seeds_and_skips_it_after(data_root, tmp_path):
    import os

    args = [
        "eval",
        "--lang",
        "xh",
        "--model",
        "constant",
        "--tasks",
        "afrixnli",
        "--seeds",
        "3",
        "--preset",
        "smoke",
    ]
    first = zoo(*args)
    assert first.returncode == 0, first.stderr
    work = Path(os.environ["ZOO_WORK_DIR"])
    records = sorted((work / "results" / "xh").rglob("*.json"))
    assert len(records) == 1, records
    rec = json.loads(records[0].read_text(encoding="utf-8"))
    assert rec["model"] == {
        "id": "constant",
        "revision": "constant-v1",
        "role": "constant-baseline",
        "size": None,
        "path": None,
        "params": {},
    }
    assert rec["seed"] == 0 and rec["task"]["preset"] == "smoke" and rec["task"]["name"] == "afrixnli"
    assert rec["details"]["head"] == "constant" and rec["details"]["preset"] == "smoke"
    assert Path(rec["details"]["predictions"]).is_file()
    assert "1 runs done, 0 skipped" in first.stderr

    again = zoo(*args)
    assert again.returncode == 0, again.stderr
    assert "0 runs done, 1 skipped" in again.stderr
    assert sorted((work / "results" / "xh").rglob("*.json")) == records
    assert json.loads(records[0].read_text(encoding="utf-8")) == rec


def test_leaderboard_and_results_table_show_the_constant_row_after_the_random_baseline():
    import leaderboard_fixtures as fx
    from test_leaderboard import _check

    from zoo import leaderboard
    from zoo.results import ModelInfo
    from zoo.results.tables import summarize

    constant = ModelInfo("constant", "constant-v1", "constant-baseline")
    records = fx.fixture_records() + [fx.eval_record("xh", constant, "masakhaner", 0, 11.0),
                                      fx.eval_record("xh", constant, "masakhapos", 0, 45.0)]
    board = leaderboard.build_leaderboard(records).to_json()
    schema = json.loads(leaderboard.Leaderboard.schema_file().read_text())
    _check(schema, json.loads(json.dumps(board)), schema)
    xh = [r for r in board["rows"] if r["lang"] == "xh"]
    row = next(r for r in xh if r["model_id"] == "constant")
    assert row["role_label"] == "constant baseline" and row["params"] is None and row["card_url"] is None
    assert row["tasks"]["masakhaner"]["mean"] == 11.0 and row["tasks"]["masakhaner"]["n"] == 1
    roles = [r["role"] for r in xh]
    assert roles.index("random-baseline") < roles.index("constant-baseline") < roles.index("shape-baseline")

    [ner] = [r for r in summarize(records) if r["task"] == "masakhaner"]
    order = [m["role"] for m in ner["models"]]
    assert order.index("random-baseline") + 1 == order.index("constant-baseline") < order.index("teacher")
