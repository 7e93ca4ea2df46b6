"""CoNLL 2018 UD metrics on hand-made sentences; every expected number below was computed by hand."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from zoo.errors import DataError
from zoo.evaluation.ud.conll18 import (
    METRICS,
    Score,
    evaluate_conllu,
    evaluate_conllu_text,
    format_table,
    universal_feats,
)


def conllu(*sentences: str) -> str:
    """CoNLL-U from sentences whose rows separate columns by spaces (missing trailing columns are ``_``)."""
    lines = []
    for sentence in sentences:
        for row in textwrap.dedent(sentence).strip().splitlines():
            fields = row.split()
            lines.append(row if row.startswith("#") else "\t".join(fields + ["_"] * (10 - len(fields))))
        lines.append("")
    return "\n".join(lines) + "\n"


def counts(score: Score) -> tuple[int, int, int, int | None]:
    """(correct, gold_total, system_total, aligned_total) of a score."""
    return score.correct, score.gold_total, score.system_total, score.aligned_total


def prf(score: Score) -> tuple[float, float, float]:
    return score.precision, score.recall, score.f1


# ----------------------------------------------------------------------------- multi-word tokens (French)

FR_GOLD = conllu("""
    # text = Il parle du chat.
    1   Il     il     PRON  _ Gender=Masc|Number=Sing|Person=3 2 nsubj
    2   parle  parler VERB  _ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
    3-4 du     _      _     _ _ _ _
    3   de     de     ADP   _ _ 5 case
    4   le     le     DET   _ Definite=Def|Gender=Masc|Number=Sing|PronType=Art 5 det
    5   chat   chat   NOUN  _ Gender=Masc|Number=Sing 2 obl _ SpaceAfter=No
    6   .      .      PUNCT _ _ 2 punct
""")

# "du" left as one word: the multi-word span {de, le} vs {du} aligns nothing (no common form).
FR_SYSTEM_UNSPLIT = conllu("""
    1 Il    il     PRON  _ Gender=Masc|Number=Sing|Person=3 2 nsubj
    2 parle parler VERB  _ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
    3 du    du     ADP   _ _ 4 case
    4 chat  chat   NOUN  _ Gender=Masc|Number=Sing 2 obl
    5 .     .      PUNCT _ _ 2 punct
""")

# "du" split into "De" + "lui": the LCS (case-insensitive) aligns de~De only.
FR_SYSTEM_BADSPLIT = conllu("""
    1   Il    il     PRON  _ Gender=Masc|Number=Sing|Person=3 2 nsubj
    2   parle parler VERB  _ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
    3-4 du    _      _     _ _ _ _
    3   De    de     ADP   _ _ 5 case
    4   lui   lui    PRON  _ _ 5 det
    5   chat  chat   NOUN  _ Gender=Masc|Number=Sing 2 obl
    6   .     .      PUNCT _ _ 2 punct
""")


def test_multiword_token_left_unsplit():
    s = evaluate_conllu_text(FR_GOLD, FR_SYSTEM_UNSPLIT)
    assert counts(s["Tokens"]) == (5, 5, 5, None)
    assert counts(s["Sentences"]) == (1, 1, 1, None)
    # 6 gold words, 5 system words, 4 aligned (Il, parle, chat, .)
    assert counts(s["Words"]) == (4, 6, 5, None)
    assert prf(s["Words"]) == pytest.approx((0.8, 0.666666667, 0.727272727))
    assert s["Words"].aligned_accuracy is None
    for metric in ("UPOS", "XPOS", "UFeats", "AllTags", "Lemmas", "UAS", "LAS"):
        assert counts(s[metric]) == (4, 6, 5, 4), metric
        assert s[metric].aligned_accuracy == 1.0
    # content words: Il, parle, chat on both sides, all right
    assert counts(s["CLAS"]) == (3, 3, 3, 3)
    assert counts(s["BLEX"]) == (3, 3, 3, 3)
    # MLAS: gold "chat" has functional children de+le, the system's has "du" (not aligned)
    assert counts(s["MLAS"]) == (2, 3, 3, 3)
    assert prf(s["MLAS"]) == pytest.approx((0.666666667, 0.666666667, 0.666666667))


def test_multiword_token_split_differently():
    s = evaluate_conllu_text(FR_GOLD, FR_SYSTEM_BADSPLIT)
    assert counts(s["Tokens"]) == (5, 5, 5, None)
    assert counts(s["Words"]) == (5, 6, 6, None)
    assert s["Words"].f1 == pytest.approx(0.833333333)
    assert counts(s["UPOS"]) == (5, 6, 6, 5)
    assert counts(s["LAS"]) == (5, 6, 6, 5)
    assert counts(s["CLAS"]) == (3, 3, 3, 3)
    # "chat": children (de, case) match, (le, det) vs (lui, det) does not (lui is not aligned)
    assert counts(s["MLAS"]) == (2, 3, 3, 3)


def test_table_matches_official_layout():
    table = format_table(evaluate_conllu_text(FR_GOLD, FR_SYSTEM_UNSPLIT)).splitlines()
    assert table[0] == "Metric     | Precision |    Recall |  F1 Score | AligndAcc"
    assert table[1] == "-----------+-----------+-----------+-----------+-----------"
    assert table[2] == "Tokens     |    100.00 |    100.00 |    100.00 |"
    assert table[4] == "Words      |     80.00 |     66.67 |     72.73 |"
    assert table[5] == "UPOS       |     80.00 |     66.67 |     72.73 |    100.00"
    assert table[13] == "MLAS       |     66.67 |     66.67 |     66.67 |     66.67"
    assert [line.split()[0] for line in table[2:]] == list(METRICS)


# ----------------------------------------------------------------------------- subtypes, features, lemmas

EN_GOLD = conllu("""
    1 My    my   PRON  PRP$ Number=Sing|Person=1|Poss=Yes|PronType=Prs 2 nmod:poss
    2 dog   dog  NOUN  NN   Number=Sing 3 nsubj
    3 barks bark VERB  VBZ  Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root _ SpaceAfter=No
    4 .     _    PUNCT .    _ 3 punct
""")

EN_SYSTEM = conllu("""
    1 My    my    PRON  PRP$ PronType=Prs|Poss=Yes|Person=1|Number[psor]=Sing|Number=Sing 2 nmod
    2 dog   dog   NOUN  NN   Number=Plur 3 nsubj
    3 barks barks VERB  VBZ  Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
    4 .     .     PUNCT .    _ 2 punct
""")


def test_subtypes_features_lemmas_and_wrong_head():
    s = evaluate_conllu_text(EN_GOLD, EN_SYSTEM)
    assert counts(s["Words"]) == (4, 4, 4, None)
    assert counts(s["UPOS"]) == (4, 4, 4, 4)
    assert counts(s["XPOS"]) == (4, 4, 4, 4)
    # My: extra Number[psor] (not universal) and another order -> equal; dog: Number differs
    assert counts(s["UFeats"]) == (3, 4, 4, 4)
    assert counts(s["AllTags"]) == (3, 4, 4, 4)
    # barks/bark wrong; gold "_" for "." accepts the system's "."
    assert counts(s["Lemmas"]) == (3, 4, 4, 4)
    assert prf(s["Lemmas"]) == pytest.approx((0.75, 0.75, 0.75))
    # "." attached to dog instead of barks
    assert counts(s["UAS"]) == (3, 4, 4, 4)
    # nmod:poss vs nmod: equal once the subtype is stripped
    assert counts(s["LAS"]) == (3, 4, 4, 4)
    # content words My, dog, barks; punct is neither content nor functional
    assert counts(s["CLAS"]) == (3, 3, 3, 3)
    assert counts(s["MLAS"]) == (2, 3, 3, 3)  # dog's universal feature
    assert counts(s["BLEX"]) == (2, 3, 3, 3)  # barks' lemma


def test_gold_underscore_lemma_matches_anything_but_not_the_reverse():
    gold = conllu("1 Hi _  INTJ _ _ 0 root", "1 Go go VERB _ _ 0 root")
    system = conllu("1 Hi hi INTJ _ _ 0 root", "1 Go _ VERB _ _ 0 root")
    s = evaluate_conllu_text(gold, system)
    assert counts(s["Lemmas"]) == (1, 2, 2, 2)
    assert counts(s["BLEX"]) == (1, 2, 2, 2)


def test_universal_feats_filter():
    assert universal_feats("_") == ""
    assert universal_feats("Typo=Yes|Number=Sing|Number[psor]=Plur|Case=Nom") == "Case=Nom|Number=Sing"


# ----------------------------------------------------------------------------- content vs function words

THE_CAT_GOLD = conllu("""
    1 The    the   DET  DT  Definite=Def|PronType=Art 2 det
    2 cat    cat   NOUN NN  Number=Sing 3 nsubj
    3 sleeps sleep VERB VBZ Number=Sing|Person=3|Tense=Pres 0 root
""")


def test_function_word_error_spares_clas_but_not_mlas():
    system = THE_CAT_GOLD.replace("2\tdet", "3\tdet")  # "The" attached to the verb
    s = evaluate_conllu_text(THE_CAT_GOLD, system)
    assert counts(s["UAS"]) == (2, 3, 3, 3)
    assert counts(s["LAS"]) == (2, 3, 3, 3)
    assert counts(s["CLAS"]) == (2, 2, 2, 2)
    assert counts(s["BLEX"]) == (2, 2, 2, 2)
    # cat lost its det child, sleeps gained one
    assert counts(s["MLAS"]) == (0, 2, 2, 2)
    assert s["MLAS"].aligned_accuracy == 0.0


def test_content_word_labelled_as_function_word():
    system = THE_CAT_GOLD.replace("nsubj", "det")  # cat --det--> sleeps
    s = evaluate_conllu_text(THE_CAT_GOLD, system)
    assert counts(s["UAS"]) == (3, 3, 3, 3)
    assert counts(s["LAS"]) == (2, 3, 3, 3)
    # gold content: cat, sleeps; system content: sleeps only
    assert counts(s["CLAS"]) == (1, 2, 1, 2)
    assert prf(s["CLAS"]) == pytest.approx((1.0, 0.5, 0.666666667))
    assert s["CLAS"].aligned_accuracy == 0.5
    assert counts(s["BLEX"]) == (1, 2, 1, 2)
    # sleeps now has a functional child (cat) that gold does not have
    assert counts(s["MLAS"]) == (0, 2, 1, 2)
    assert prf(s["MLAS"]) == (0.0, 0.0, 0.0)


# ----------------------------------------------------------------------------- tokenisation, sentences


def test_token_split_differently():
    gold = conllu("""
        1 I      I      PRON  _ _ 3 nsubj
        2 cannot cannot AUX   _ _ 3 aux
        3 go     go     VERB  _ _ 0 root _ SpaceAfter=No
        4 .      .      PUNCT _ _ 3 punct
    """)
    system = conllu("""
        1 I   I   PRON  _ _ 4 nsubj
        2 can can AUX   _ _ 4 aux
        3 not not PART  _ _ 4 advmod
        4 go  go  VERB  _ _ 0 root
        5 .   .   PUNCT _ _ 4 punct
    """)
    s = evaluate_conllu_text(gold, system)
    assert counts(s["Tokens"]) == (3, 4, 5, None)
    assert prf(s["Tokens"]) == pytest.approx((0.6, 0.75, 0.666666667))
    assert counts(s["Words"]) == (3, 4, 5, None)
    assert counts(s["UAS"]) == (3, 4, 5, 3)
    # content: gold I, go; system I, not, go
    assert counts(s["CLAS"]) == (2, 2, 3, 2)
    assert prf(s["CLAS"]) == pytest.approx((0.666666667, 1.0, 0.8))
    # go: gold child (cannot, aux) vs system (can, aux), can is not aligned
    assert counts(s["MLAS"]) == (1, 2, 3, 2)
    assert prf(s["MLAS"]) == pytest.approx((0.333333333, 0.5, 0.4))


def test_sentences_merged():
    gold = conllu(
        "1 Hi hi INTJ _ _ 0 root\n2 . . PUNCT _ _ 1 punct", "1 Go go VERB _ _ 0 root\n2 . . PUNCT _ _ 1 punct"
    )
    system = conllu(
        "1 Hi hi INTJ _ _ 0 root\n2 . . PUNCT _ _ 1 punct\n"
        "3 Go go VERB _ _ 1 parataxis\n4 . . PUNCT _ _ 3 punct"
    )
    s = evaluate_conllu_text(gold, system)
    assert counts(s["Sentences"]) == (0, 2, 1, None)
    assert prf(s["Sentences"]) == (0.0, 0.0, 0.0)
    assert counts(s["Tokens"]) == (4, 4, 4, None)
    assert counts(s["UAS"]) == (3, 4, 4, 4)
    assert counts(s["CLAS"]) == (1, 2, 2, 2)


def test_empty_nodes_comments_and_crlf_are_ignored():
    gold = conllu("""
        # sent_id = 1
        1   Hi  hi  INTJ  _ _ 0 root
        1.1 was be  AUX   _ _ _ _ 0:root
        2   .   .   PUNCT _ _ 1 punct
    """).replace("\n", "\r\n")
    system = conllu("1 Hi hi INTJ _ _ 0 root\n2 . . PUNCT _ _ 1 punct")
    s = evaluate_conllu_text(gold, system)
    assert all(s[m].f1 == 1.0 for m in METRICS)


# ----------------------------------------------------------------------------- errors

GOOD = conllu("1 Hi hi INTJ _ _ 0 root\n2 . . PUNCT _ _ 1 punct")


@pytest.mark.parametrize(
    "system, message",
    [
        ("1\tHi\thi\tINTJ\n\n", r"<system>:1: the line does not contain 10 tab-separated columns"),
        (GOOD.replace("1\tpunct", "x\tpunct"), r"<system>:2: cannot parse HEAD 'x'"),
        (GOOD.replace("1\tpunct", "-1\tpunct"), r"<system>:2: HEAD cannot be negative"),
        (GOOD.replace("1\tpunct", "3\tpunct"), r"<system>:2: HEAD '3' points outside of the sentence"),
        (GOOD.replace("0\troot", "2\troot"), r"<system>:1: there is a cycle"),
        (GOOD.replace("1\tpunct", "0\tpunct"), r"<system>:3: there are 2 roots"),
        (GOOD.replace("2\t.", "3\t."), r"<system>:2: incorrect word ID '3' for word '.', expected 2"),
        (GOOD.replace("2\t.", "two\t."), r"<system>:2: cannot parse word ID 'two'"),
        (GOOD.replace("Hi", "\u00a0").replace("hi", "_"), r"<system>:1: empty FORM"),
        (GOOD.rstrip("\n"), r"<system>:2: the CoNLL-U file does not end with an empty line"),
        ("1-x\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n", r"<system>:1: cannot parse multi-word token ID '1-x'"),
        (GOOD.replace("Hi", "Ho"), r"differs: gold <gold>:1 has 'i\.', system <system>:1 has 'o\.'"),
    ],
)
def test_malformed_input(system, message):
    with pytest.raises(DataError, match=message):
        evaluate_conllu_text(GOOD, system)


def test_unreadable_files(tmp_path):
    good = tmp_path / "good.conllu"
    good.write_text(GOOD, encoding="utf-8")
    with pytest.raises(DataError, match="cannot read .*missing.conllu"):
        evaluate_conllu(good, tmp_path / "missing.conllu")
    bad = tmp_path / "bad.conllu"
    bad.write_bytes(GOOD.encode() + b"1\tH\xffi\t_\t_\t_\t_\t0\troot\t_\t_\n\n")
    with pytest.raises(DataError, match=r"bad.conllu:4: not valid UTF-8"):
        evaluate_conllu(good, bad)
    broken = tmp_path / "broken.conllu"
    broken.write_text(GOOD.replace("0\troot", "2\troot"), encoding="utf-8")
    with pytest.raises(DataError, match=r"broken.conllu:1: there is a cycle"):
        evaluate_conllu(broken, good)


# ----------------------------------------------------------------------------- real data, CLI


def _real_file(lang: str) -> Path:
    root = os.environ.get("ZOO_DATA_DIR")
    if not root:
        pytest.skip("ZOO_DATA_DIR is not set")
    path = Path(root) / lang / "ud" / "dev.conllu"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.mark.parametrize("lang", ["ga", "fr"])
def test_real_file_against_itself_is_perfect(lang):
    path = _real_file(lang)
    scores = evaluate_conllu(path, path)
    for metric in METRICS:
        assert (scores[metric].precision, scores[metric].recall, scores[metric].f1) == (1.0, 1.0, 1.0), metric
    assert scores["Words"].gold_total > 1000


def test_cli_table_json_and_errors(tmp_path, capsys):
    import zoo.cli.score  # noqa: F401  (registers ``zoo score``)
    from zoo.cli import main

    gold, system = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    gold.write_text(FR_GOLD, encoding="utf-8")
    system.write_text(FR_SYSTEM_UNSPLIT, encoding="utf-8")

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as exc:  # click's standalone mode always exits
            main(["score", "ud", *args])
        return exc.value.code

    assert run(str(gold), str(system)) == 0
    out = capsys.readouterr().out
    assert "Words      |     80.00 |     66.67 |     72.73 |" in out

    assert run(str(gold), str(system), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == list(METRICS)
    assert data["Words"] == pytest.approx(
        {"precision": 80.0, "recall": 66.666666667, "f1": 72.727272727, "aligned_accuracy": None}
    )
    assert data["MLAS"]["aligned_accuracy"] == pytest.approx(66.666666667)

    assert run(str(gold), str(system), "--json", "--verbose") == 0
    assert json.loads(capsys.readouterr().out)["Words"]["correct"] == 4

    assert run(str(gold), str(tmp_path / "nope.conllu")) not in (0, None)
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot read") and "\n" not in err


# ----------------------------------------------------------------------------- zoo.evaluation.metrics


def test_ud_text_scores_join_items_and_close_them():
    from zoo.evaluation.metrics import ud_text_scores

    gold = conllu("1 Hi hi INTJ _ _ 0 root\n2 . . PUNCT _ _ 1 punct", "1 Go go VERB _ _ 0 root")
    system = conllu("1 Hi hi NOUN _ _ 0 root\n2 . . PUNCT _ _ 1 punct", "1 Go go VERB _ _ 0 root")
    # one sentence an item, the final empty line left out (CR LF too): the same text as the whole files
    items = [x.rstrip("\n") for x in gold.split("\n\n") if x.strip()]
    sys_items = [system.split("\n\n")[0].replace("\n", "\r\n"), system.split("\n\n")[1]]
    by_item = ud_text_scores(items, sys_items, counts=True)
    assert by_item == ud_text_scores([gold], [system], counts=True)
    # UPOS by hand: 3 words, "Hi" wrong
    assert by_item["UPOS"] == pytest.approx({"precision": 200 / 3, "recall": 200 / 3, "f1": 200 / 3,
                                             "aligned_accuracy": 200 / 3, "correct": 2, "gold_total": 3,
                                             "system_total": 3, "aligned_total": 3})
    assert by_item["Sentences"]["f1"] == 100.0
    assert list(by_item) == list(METRICS)


def test_ud_scores_of_files_equal_those_of_their_text(tmp_path):
    from zoo.evaluation.metrics import ud_scores, ud_text_scores

    gold, system = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    gold.write_text(FR_GOLD, encoding="utf-8")
    system.write_text(FR_SYSTEM_BADSPLIT, encoding="utf-8")
    assert ud_scores(gold, system) == ud_text_scores([FR_GOLD], [FR_SYSTEM_BADSPLIT])
    assert ud_scores(gold, system)["Words"]["f1"] == pytest.approx(500 / 6)  # 5 of 6 words, as above


def test_ud_text_scores_errors():
    from zoo.errors import ZooError
    from zoo.evaluation.metrics import ud_text_scores

    with pytest.raises(ZooError, match="pass lists of CoNLL-U texts"):
        ud_text_scores(GOOD, GOOD)
    # the line of the joined text: GOOD is 3 lines, the bad HEAD is on the second item's line 2
    with pytest.raises(DataError, match=r"<system>:5: HEAD '3' points outside of the sentence"):
        ud_text_scores([GOOD, GOOD], [GOOD, GOOD.replace("1\tpunct", "3\tpunct")])
