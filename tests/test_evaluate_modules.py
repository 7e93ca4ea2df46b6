"""The zoo's metrics as ``evaluate`` modules (``zoo.metrics``): loaded by path in a fresh, offline process,
as a user would load them, they give exactly the scores of the zoo's own functions and of
``zoo score ud --json`` on real data, and the values counted by hand on small examples; their docstring and
metric-card examples hold."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo.metrics
from zoo.data.conllu import Sentence, format_conllu, parse_conllu
from zoo.data.readers import read_news, read_tagged
from zoo.errors import UsageError
from zoo.evaluation import metrics
from zoo.evaluation.ud.conll18 import METRICS

# Run in a fresh process: what a user types, offline, with the module cache in a temporary HF_HOME.
USER_SCRIPT = r"""
import doctest, json, re, sys
import evaluate, zoo.metrics

inp = json.loads(open(sys.argv[1], encoding="utf-8").read())
ud = evaluate.load(str(zoo.metrics.path("conll18_ud")))
ner = zoo.metrics.load("seqeval_ner")
classes = evaluate.load(str(zoo.metrics.path("classification")))
gold, system = (open(p, encoding="utf-8").read() for p in (inp["gold"], inp["system"]))
out = {
    "offline": evaluate.config.HF_EVALUATE_OFFLINE,
    "modules_cache": str(evaluate.config.HF_MODULES_CACHE),
    "names": [m.name for m in (ud, ner, classes)],
    "ud": ud.compute(predictions=[system], references=[gold]),
    "ud_counts": ud.compute(predictions=[system], references=[gold], counts=True),
    "ud_by_sentence": ud.compute(predictions=inp["system_sentences"], references=inp["gold_sentences"]),
    "ner": ner.compute(predictions=inp["ner_pred"], references=inp["ner_gold"]),
    "ner_hand": ner.compute(predictions=inp["ner_hand_pred"], references=inp["ner_hand_gold"]),
    "classes_str": classes.compute(predictions=["a", "b", "b", "b"], references=["a", "a", "b", "c"]),
    "classes_int": classes.compute(predictions=inp["int_pred"], references=inp["int_gold"]),
    "classes_news": classes.compute(predictions=inp["news_pred"], references=inp["news_gold"]),
}
try:
    ud.compute(predictions=[system.replace("\t", "\tx", 1)], references=[gold])
except Exception as exc:
    out["ud_error"] = [type(exc).__name__, str(exc)]
failed = 0
for module, name in ((ud, "ud"), (ner, "ner"), (classes, "classes")):
    card = open(zoo.metrics.path(module.name) / "README.md", encoding="utf-8").read()
    for text in (module.inputs_description, *re.findall(r"```python\n(.*?)```", card, flags=re.S)):
        test = doctest.DocTestParser().get_doctest(text, {name: module}, module.name, None, 0)
        failed += doctest.DocTestRunner().run(test).failed
out["doctest_failures"] = failed
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
"""

N_UD_SENTENCES = 12
N_NER_SENTENCES = 50


# ----------------------------------------------------------------------------- perturbed copies of real data


def _renumber(words: list[list[str]], new_id: dict[int, int]) -> None:
    for w in words:
        w[0] = str(new_id[int(w[0])])
        w[6] = str(new_id.get(int(w[6]), 0))


def _split_word(s: Sentence) -> None:
    """Split the first long non-root word into two words (the second attached to the first)."""
    k = next(i for i, w in enumerate(s.words) if len(w[1]) >= 6 and w[6] != "0")
    w = s.words[k]
    _renumber(s.words, {i: i if i <= k + 1 else i + 1 for i in range(len(s.words) + 1)})
    second = [str(k + 2), w[1][3:], w[1][3:], "X", "_", "_", str(k + 1), "flat", "_", "_"]
    w[1] = w[1][:3]
    s.words.insert(k + 1, second)


def _merge(first: Sentence, second: Sentence) -> None:
    """Append ``second`` to ``first``, its root attached to ``first``'s root."""
    offset, root = len(first.words), next(int(w[0]) for w in first.words if w[6] == "0")
    for w in second.words:
        w[7] = "parataxis" if w[6] == "0" else w[7]
    _renumber(second.words, {0: root} | {i: i + offset for i in range(1, len(second.words) + 1)})
    first.words.extend(second.words)


def perturbed_ud(gold: list[Sentence]) -> list[Sentence]:
    """A system copy: wrong tags, lemmas, features, heads and labels, a split word, two merged sentences."""
    assert not any(s.tokens or s.empty for s in gold)  # renumbering below ignores multi-word tokens
    system = copy.deepcopy(gold)
    for s in system:
        root = next(w[0] for w in s.words if w[6] == "0")
        for k, w in enumerate(s.words):
            w[3] = ("X" if w[3] != "X" else "NOUN") if k % 3 == 1 else w[3]
            w[4] = "ZZ" if k % 6 == 2 else w[4]
            w[2] = w[2] + "x" if k % 5 == 3 else w[2]
            w[5] = "_" if k % 7 == 4 else w[5]
            if w[6] != "0":
                w[6] = root if k % 4 == 0 else w[6]  # to the root: never a cycle
                w[7] = "dep" if k % 8 == 5 else w[7]
    _split_word(system[1])
    _merge(system[3], system.pop(4))
    return system


def perturbed_tags(gold: list[list[str]]) -> tuple[list[list[str]], int, int]:
    """Drop the first entity of every third sentence that has one and retype it in the next; returns the tags
    and how many entities were dropped and retyped."""
    pred, dropped, retyped, seen = copy.deepcopy(gold), 0, 0, 0
    for tags in pred:
        starts = [i for i, t in enumerate(tags) if t.startswith("B-")]
        if not starts:
            continue
        j, kind = starts[0], tags[starts[0]][2:]
        end = j + 1
        while end < len(tags) and tags[end] == f"I-{kind}":
            end += 1
        if seen % 3 == 0:
            tags[j:end] = ["O"] * (end - j)
            dropped += 1
        elif seen % 3 == 1:
            other = "ORG" if kind != "ORG" else "PER"
            tags[j:end] = [f"B-{other}"] + [f"I-{other}"] * (end - j - 1)
            retyped += 1
        seen += 1
    return pred, dropped, retyped


def _chunks(text: str, cuts: tuple[int, ...]) -> list[str]:
    sentences = text.rstrip("\n").split("\n\n")
    assert len(sentences) == cuts[-1]
    return ["\n\n".join(sentences[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]


# ----------------------------------------------------------------------------- the user's process


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory):
    """Inputs from real files, the modules' outputs computed in a fresh offline process, and the gold/system
    paths."""
    tmp = tmp_path_factory.mktemp("evaluate-modules")
    text = (data_root / "af" / "ud" / "dev.conllu").read_text(encoding="utf-8")
    gold_sents = parse_conllu(text)[:N_UD_SENTENCES]
    gold, system = tmp / "gold.conllu", tmp / "system.conllu"
    gold.write_text(format_conllu(gold_sents), encoding="utf-8")
    system.write_text(format_conllu(perturbed_ud(gold_sents)), encoding="utf-8")

    ner_gold = [list(t) for t in read_tagged(data_root / "xh" / "ner" / "test.iob", iob=True)["tags"]]
    ner_gold = ner_gold[:N_NER_SENTENCES]
    ner_pred, dropped, retyped = perturbed_tags(ner_gold)
    news_gold = list(read_news(data_root / "xh" / "news" / "test.tsv")["label"])
    news_pred = [g if i % 4 else "sports" for i, g in enumerate(news_gold)]

    inputs = {
        "gold": str(gold),
        "system": str(system),
        # items of a few sentences, cut at other places in gold and system, without their final empty line
        "gold_sentences": _chunks(format_conllu(gold_sents), (0, 3, 6, 9, 12)),
        "system_sentences": _chunks(system.read_text(encoding="utf-8"), (0, 3, 5, 8, 11)),
        "ner_gold": ner_gold,
        "ner_pred": ner_pred,
        "ner_hand_gold": [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"], ["B-LOC", "O"]],
        "ner_hand_pred": [["B-PER", "I-PER", "O", "B-PER"], ["O", "I-ORG", "I-ORG"], ["O", "O"]],
        "int_gold": [0, 1, 2, 2, 1, 0, 3, 3, 3, 1],
        "int_pred": [0, 2, 2, 1, 1, 0, 3, 0, 3, 4],
        "news_gold": news_gold,
        "news_pred": news_pred,
    }
    (tmp / "in.json").write_text(json.dumps(inputs), encoding="utf-8")
    (tmp / "user.py").write_text(USER_SCRIPT, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1", "HF_HOME": str(tmp / "hf")}
    env.pop("HF_MODULES_CACHE", None)
    proc = subprocess.run([sys.executable, str(tmp / "user.py"), str(tmp / "in.json"), str(tmp / "out.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
    return {"in": inputs, "out": out, "dropped": dropped, "retyped": retyped, "tmp": tmp,
            "stdout": proc.stdout}


def _cli_json(capsys, *args: str) -> dict:
    import zoo.cli.score  # noqa: F401  (registers ``zoo score``)
    from zoo.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["score", "ud", *args, "--json"])
    assert exc.value.code == 0
    return json.loads(capsys.readouterr().out)


def test_loaded_offline_from_the_package(run):
    out = run["out"]
    assert out["offline"] is True
    assert out["names"] == ["conll18_ud", "seqeval_ner", "classification"]
    assert out["modules_cache"].startswith(str(run["tmp"] / "hf"))  # the copy evaluate imports, nothing else
    assert out["doctest_failures"] == 0, run["stdout"][-3000:]


def test_conll18_module_equals_zoo_score_ud(run, capsys):
    gold, system = run["in"]["gold"], run["in"]["system"]
    cli = _cli_json(capsys, gold, system)
    assert run["out"]["ud"] == cli  # every metric, every field, to the last bit
    assert run["out"]["ud_by_sentence"] == cli  # items of a few sentences: the same joined text
    assert run["out"]["ud_counts"] == _cli_json(capsys, gold, system, "--verbose")
    assert list(cli) == list(METRICS)
    # the perturbation moves every metric, so the equality is not 100 == 100
    assert all(0 < cli[m]["f1"] < 100 for m in METRICS), {m: cli[m]["f1"] for m in METRICS}
    # counted from the perturbation: 12 sentences, 2 merged into 1; one word split in two
    words = sum(1 for line in Path(gold).read_text(encoding="utf-8").splitlines() if line[:1].isdigit())
    counts = run["out"]["ud_counts"]
    assert (counts["Sentences"]["gold_total"], counts["Sentences"]["system_total"]) == (12, 11)
    assert (counts["Words"]["gold_total"], counts["Words"]["system_total"]) == (words, words + 1)
    assert counts["Words"]["correct"] == words - 1


def test_conll18_module_errors_name_the_joined_text(run):
    kind, message = run["out"]["ud_error"]
    assert kind == "DataError" and "\n" not in message
    assert message.startswith("the concatenation of tokens in gold and system differs: gold <gold>:4")


def test_ner_module_equals_the_zoo_on_real_masakhaner(run):
    gold, pred = run["in"]["ner_gold"], run["in"]["ner_pred"]
    assert run["out"]["ner"] == metrics.entity_scores(gold, pred)
    # counted independently: MasakhaNER is clean IOB2 (every entity opens with B-), so entities = B- tags;
    # a dropped entity is a miss, a retyped one a miss and a false prediction
    assert not any(t.startswith("I-") and (i == 0 or s[i - 1][2:] != t[2:]) for s in gold for i, t in
                   enumerate(s))
    n_gold = sum(t.startswith("B-") for s in gold for t in s)
    n_pred, correct = n_gold - run["dropped"], n_gold - run["dropped"] - run["retyped"]
    assert run["dropped"] > 3 and run["retyped"] > 3
    assert run["out"]["ner"] == pytest.approx(
        {"precision": 100 * correct / n_pred, "recall": 100 * correct / n_gold,
         "f1": 200 * correct / (n_pred + n_gold)}
    )


def test_ner_module_by_hand(run):
    # gold: PER(s1 0-1), LOC(s1 3), ORG(s2 1-2), LOC(s3 0) = 4; predicted: PER(s1 0-1) right, PER(s1 3) wrong
    # type, ORG(s2 1-2) right (an I- after O opens an entity in default mode) = 3 -> P 2/3, R 2/4, F1 4/7
    assert run["out"]["ner_hand"] == pytest.approx({"precision": 200 / 3, "recall": 50.0, "f1": 400 / 7})


def test_classification_module_by_hand(run):
    # a: tp1 fp0 fn1 -> F1 2/3; b: tp1 fp2 -> 1/2; c: 0 -> macro 7/18; 2 of 4 right
    assert run["out"]["classes_str"] == pytest.approx({"accuracy": 50.0, "macro_f1": 700 / 18})
    # 0: tp2 fp1 -> 4/5; 1: tp1 fp1 fn2 -> 2/5; 2: tp1 fp1 fn1 -> 1/2; 3: tp2 fn1 -> 4/5; 4 (never gold): 0
    assert run["out"]["classes_int"] == pytest.approx({"accuracy": 60.0, "macro_f1": 50.0})


def test_classification_module_equals_the_zoo_on_real_masakhanews(run):
    gold, pred = run["in"]["news_gold"], run["in"]["news_pred"]
    assert run["out"]["classes_news"] == metrics.classification_scores(gold, pred)
    scores = run["out"]["classes_news"]
    assert 0 < scores["macro_f1"] < 100 and 0 < scores["accuracy"] < 100
    assert scores["macro_f1"] != scores["accuracy"]


# ----------------------------------------------------------------------------- the package side


def test_every_module_folder_is_a_loadable_module_with_a_card():
    folders = sorted(p.name for p in Path(zoo.metrics.__file__).parent.iterdir() if p.is_dir()
                     and not p.name.startswith("__"))
    assert folders == sorted(zoo.metrics.NAMES)
    for name in zoo.metrics.NAMES:
        folder = zoo.metrics.path(name)
        assert (folder / f"{name}.py").is_file()  # what evaluate.load(<folder>) opens
        card = (folder / "README.md").read_text(encoding="utf-8")
        assert card.startswith("---\n") and "- evaluate\n- metric\n" in card and "# Metric Card for" in card


def test_unknown_module_is_a_one_line_usage_error():
    with pytest.raises(UsageError, match=r"unknown metric module 'conll18' \(did you mean 'conll18_ud'\?\)"):
        zoo.metrics.path("conll18")
