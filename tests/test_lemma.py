"""Lemma edit rules on hand-checked words (English, French, Hungarian, Irish)."""

from __future__ import annotations

import pytest

from zoo.evaluation.ud.lemma import LemmaRule, apply_rule, choose_copy, edit_script, make_rule

# (form, lemma) pairs checked by hand; each must round-trip through its own rule.
PAIRS = [
    ("walked", "walk"),
    ("Walked", "walk"),
    ("went", "go"),
    ("USA", "USA"),
    ("iPhones", "iPhone"),
    ("mangeons", "manger"),
    ("du", "de"),
    ("Paris", "Paris"),
    ("házakat", "ház"),
    ("embereket", "ember"),
    ("Budapesten", "Budapest"),
    ("legszebb", "szép"),
    ("bhean", "bean"),
    ("mbean", "bean"),
    ("t-athair", "athair"),
    ("hÉireann", "Éire"),
    ("n-éin", "éan"),
]


@pytest.mark.parametrize("allow_copy", [True, False])
@pytest.mark.parametrize(("form", "lemma"), PAIRS)
def test_rule_round_trips(form, lemma, allow_copy):
    assert apply_rule(form, make_rule(form, lemma, allow_copy)) == lemma


@pytest.mark.parametrize(
    ("train", "other", "expected"),
    [
        (("walked", "walk"), "jumped", "jump"),
        (("Walked", "walk"), "Jumped", "jump"),  # lower-cased lemma of a capitalised form
        (("házakat", "ház"), "kertakat", "kert"),  # Hungarian plural accusative -akat dropped
        (("Budapesten", "Budapest"), "Szegeden", "Szeged"),  # superessive -en, capital kept
        (("mbean", "bean"), "gcat", "cat"),  # Irish eclipsis: drop the prefixed letter
        (("bhean", "bean"), "mháthair", "máthair"),  # Irish lenition: keep the first letter, drop the h
        (("t-athair", "athair"), "t-uisce", "uisce"),  # Irish t-prothesis
        (("hAlbain", "Albain"), "hÉireann", "Éireann"),  # Irish h-prothesis, casing from the start
        (("iPhones", "iPhone"), "iPads", "iPad"),  # casing runs: lower, upper, lower
        (("went", "go"), "ran", "go"),  # nothing in common: the lemma itself
    ],
)
def test_rule_generalises_to_other_words(train, other, expected):
    assert apply_rule(other, make_rule(*train)) == expected


def test_lenition_needs_copy_to_generalise():
    rule = make_rule("bhean", "bean", allow_copy=False)
    assert rule.prefix == ("+b", "-", "-")
    assert apply_rule("mháthair", rule) == "báthair"  # the plain script rewrites to a fixed letter
    assert make_rule("bhean", "bean", allow_copy=True).prefix == ("=", "-")


def test_rule_that_does_not_fit_returns_the_form():
    rule = make_rule("embereket", "ember")  # deletes 4 final letters
    assert rule.suffix == ("-", "-", "-", "-")
    assert apply_rule("az", rule) == "az"


def test_rules_are_hashable_classes():
    assert make_rule("walked", "walk") == make_rule("jumped", "jump")
    assert len({make_rule("walked", "walk"), make_rule("played", "play"), make_rule("cats", "cat")}) == 2
    assert str(make_rule("walked", "walk")) == "L0;|--"
    assert isinstance(make_rule("went", "go"), LemmaRule)


def test_edit_script_is_minimal():
    assert edit_script("ab", "ab", allow_copy=True) == ("=", "=")
    assert edit_script("ab", "ab", allow_copy=False) == ("+a", "+b", "-", "-")
    assert edit_script("", "xy", allow_copy=True) == ("+x", "+y")
    assert edit_script("abc", "", allow_copy=True) == ("-", "-", "-")


def test_choose_copy_prefers_fewer_classes():
    lenited = [("bhean", "bean"), ("mháthair", "máthair"), ("chat", "cat"), ("dhoras", "doras")]
    assert choose_copy(lenited)  # one copy rule instead of four letter-specific ones
    assert not choose_copy([("walked", "walk"), ("cats", "cat")])  # equal counts: keep the plain scripts
