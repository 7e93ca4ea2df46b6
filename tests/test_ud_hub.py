"""UD from the Hub: the ``universal_dependencies`` column layout back to CoNLL-U, and the local-or-Hub choice.

The Hub is not reachable here. The rows are built in the test the way the Hub dataset's loading script
built them (the ``conllu`` package's parse of every line, multi-word tokens and empty nodes included,
FEATS/MISC as Python dict reprs, DEPS as a list of ``(deprel, head)`` tuples, ``"None"`` for ``_``, UPOS as
a ClassLabel), from CoNLL-U read with plain line splitting; ``datasets.load_dataset`` is replaced by a
function that hands them out, so the whole path from a missing local file to the sentences runs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from zoo.data import ud, ud_hub
from zoo.data.conllu import parse_conllu, read_conllu
from zoo.data.tasks import load_split
from zoo.errors import OfflineError
from zoo.registry import HubDataset, get_language

UPOS_NAMES = [
    "NOUN",
    "PUNCT",
    "ADP",
    "NUM",
    "SYM",
    "SCONJ",
    "ADJ",
    "PART",
    "DET",
    "CCONJ",
    "PROPN",
    "PRON",
    "X",
    "_",
    "ADV",
    "INTJ",
    "VERB",
    "AUX",
]
HUB_FEATURES = Features(
    {
        "idx": Value("string"),
        "text": Value("string"),
        "tokens": Sequence(Value("string")),
        "lemmas": Sequence(Value("string")),
        "upos": Sequence(ClassLabel(names=UPOS_NAMES)),
        "xpos": Sequence(Value("string")),
        "feats": Sequence(Value("string")),
        "head": Sequence(Value("string")),
        "deprel": Sequence(Value("string")),
        "deps": Sequence(Value("string")),
        "misc": Sequence(Value("string")),
    }
)

# "du" = "de le" (a multi-word token), "auquel" = "à lequel" (SpaceAfter=No), an empty node 2.1
HAND = """# sent_id = a
# text = Il parle du chat auquel.
1\tIl\til\tPRON\t_\tNumber=Sing|Person=3\t2\tnsubj\t_\t_
2\tparle\tparler\tVERB\t_\tMood=Ind\t0\troot\t_\t_
2.1\tvu\tvoir\tVERB\t_\t_\t_\t_\t2:conj\t_
3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\tle\tle\tDET\t_\tDefinite=Def\t5\tdet\t_\t_
5\tchat\tchat\tNOUN\t_\t_\t2\tobl:arg\t2:obl:arg|2.1:obj\t_
6-7\tauquel\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No
6\tà\tà\tADP\t_\t_\t7\tcase\t_\t_
7\tlequel\tlequel\tPRON\t_\tPronType=Rel\t5\tnmod\t_\t_
8\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

"""


def _dict_cell(value: str) -> str:
    if value == "_":
        return "None"
    return str({k: v for k, _, v in (part.partition("=") for part in value.split("|"))})


def _deps_cell(value: str) -> str:
    if value == "_":
        return "None"
    pairs = []
    for part in value.split("|"):
        head, rel = part.split(":", 1)
        pairs.append(
            (
                rel,
                tuple([int(head.split(".")[0]), ".", int(head.split(".")[1])]) if "." in head else int(head),
            )
        )
    return str(pairs)


def hub_rows(conllu_text: str) -> dict[str, list]:
    """Rows as the Hub's loading script wrote them, from CoNLL-U read line by line (no project code)."""
    rows: dict[str, list] = {k: [] for k in HUB_FEATURES}
    for block in conllu_text.strip("\n").split("\n\n"):
        meta = dict(
            line[2:].split(" = ", 1) for line in block.split("\n") if line.startswith("# ") and " = " in line
        )
        lines = [line.split("\t") for line in block.split("\n") if line and not line.startswith("#")]
        rows["idx"].append(meta["sent_id"])
        rows["text"].append(meta.get("text", " ".join(c[1] for c in lines)))
        rows["tokens"].append([c[1] for c in lines])
        rows["lemmas"].append([c[2] for c in lines])
        rows["upos"].append([UPOS_NAMES.index(c[3]) for c in lines])
        rows["xpos"].append([None if c[4] == "_" else c[4] for c in lines])
        rows["feats"].append([_dict_cell(c[5]) for c in lines])
        rows["head"].append(["None" if c[6] == "_" else c[6] for c in lines])
        rows["deprel"].append([c[7] for c in lines])
        rows["deps"].append([_deps_cell(c[8]) for c in lines])
        rows["misc"].append([_dict_cell(c[9]) for c in lines])
    return rows


def hub_dataset(conllu_text: str) -> Dataset:
    return Dataset.from_dict(hub_rows(conllu_text), features=HUB_FEATURES)


def _same(got, want) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g.sent_id, g.words, g.tokens, g.empty) == (w.sent_id, w.words, w.tokens, w.empty), w.sent_id
        assert [c for c in g.comments if c.startswith("# text")] == [
            c for c in w.comments if c.startswith("# text")
        ]


def test_hand_checked_sentence_comes_back_as_its_conllu():
    (got,) = ud_hub.hub_sentences(hub_dataset(HAND))
    (want,) = parse_conllu(HAND)
    _same([got], [want])
    assert got.tokens[1][0] == "6-7" and got.tokens[1][9] == "SpaceAfter=No"
    assert got.empty == [["2.1", "vu", "voir", "VERB", "_", "_", "_", "_", "2:conj", "_"]]
    assert got.words[4][8] == "2:obl:arg|2.1:obj"


def test_a_three_word_token_is_found_from_the_text():
    # Spanish "dámelo" = "da me lo": two words would leave "lo" as a token of its own, which the text lacks
    text = HAND.replace("# text = Il parle du chat auquel.", "# text = Il parle du chat dámelo.")
    text = text.replace("6-7\tauquel", "6-8\tdámelo").replace("8\t.\t.\tPUNCT", "9\t.\t.\tPUNCT")
    text = text.replace(
        "7\tlequel\tlequel\tPRON\t_\tPronType=Rel\t5\tnmod\t_\t_\n",
        "7\tme\tyo\tPRON\t_\t_\t6\tiobj\t_\t_\n8\tlo\tél\tPRON\t_\t_\t6\tobj\t_\t_\n",
    )
    text = text.replace("6\tà\tà\tADP\t_\t_\t7\tcase", "6\tda\tdar\tVERB\t_\t_\t5\tacl")
    (want,) = parse_conllu(text)
    (got,) = ud_hub.hub_sentences(hub_dataset(text))
    _same([got], [want])
    assert [t[0] for t in got.tokens] == ["3-4", "6-8"]


@pytest.mark.parametrize(("lang", "task"), [("fr", "sequoia"), ("en", "ewt")])
def test_a_whole_real_treebank_comes_back(data_root, lang, task):
    """Every sentence of a real test file (Sequoia: 310 multi-word tokens; EWT: multi-word tokens and empty
    nodes) through the Hub layout and back: the same words, tokens and empty nodes."""
    path = data_root / get_language(lang).task(task).local["test"]
    want = read_conllu(path)
    got = ud_hub.hub_sentences(hub_dataset(path.read_text(encoding="utf-8")), source="test")
    _same(got, want)
    assert sum(len(s.tokens) for s in got) > 300 and (lang == "fr" or any(s.empty for s in got))


@pytest.fixture()
def hub_only(tmp_path, monkeypatch):
    """A data root without the Sequoia files and a ``load_dataset`` that serves the hand sentence for the
    test split and two copies of it for train (recording what it was asked for)."""
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    asked = []

    def load_dataset(path, name=None, revision=None, split=None, **kwargs):
        asked.append((path, name, revision, split))
        return hub_dataset(HAND if split == "test" else HAND + HAND.replace("sent_id = a", "sent_id = b"))

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    task = get_language("fr").task("sequoia")
    return dataclasses.replace(
        task, hub=HubDataset(id=task.hub.id, config=task.hub.config, revision="abc123")
    ), asked


def test_a_split_without_its_local_file_is_read_from_the_hub(hub_only):
    task, asked = hub_only
    _same(ud.read_ud_split(task, "score"), parse_conllu(HAND))
    assert asked == [("universal_dependencies", "fr_sequoia", "abc123", "test")]
    assert len(ud.read_ud_split(task, "train")) == 2 and asked[-1][3] == "train"
    words = load_split(task, "score")  # the words-only view reads the same sentences
    assert words["form"] == [["Il", "parle", "de", "le", "chat", "à", "lequel", "."]]
    assert words["head"] == [[2, 0, 5, 5, 2, 7, 5, 2]]


def test_the_constant_baseline_scores_a_hub_treebank_against_its_written_gold(hub_only, tmp_path):
    from zoo.evaluation.constant import run_constant_task
    from zoo.evaluation.presets import get_preset

    task, _ = hub_only
    run = run_constant_task(None, task, 0, get_preset("full"), tmp_path / "out")
    assert run.gold is not None and read_conllu(run.gold)[0].words == parse_conllu(HAND)[0].words
    assert run.scores["UPOS"] == 100.0  # the train sentences are the test sentence


def test_offline_without_the_local_file_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    task = get_language("fr").task("sequoia")
    with pytest.raises(OfflineError) as e:
        ud.read_ud_split(task, "score")
    message = str(e.value)
    assert "fr/sequoia" in message or "sequoia" in message
    assert "no local file fr/ud/test.conllu" in message
    assert "universal_dependencies (fr_sequoia, test)" in message
    assert "ZOO_DATA_DIR" in (e.value.hint or "")
    assert not (Path(tmp_path) / "fr").exists()
