"""Lemmas as classes: UDPipe-style edit rules from a word form to its lemma.

A rule has two parts (after UDPipe 2, Straka 2018):

- **casing**: the lemma's upper/lower-case runs, each as (case, start). A start in the first half of the
  lemma counts from its beginning, otherwise from its end (negative), so ``Albain`` → ``(("U", 0),
  ("L", 1))`` fits every capitalised word whatever its length.
- **edit**: on lower-cased strings, the longest common substring of form and lemma is kept; the text
  before it and after it are rewritten by two minimal edit scripts of ``=`` (copy a character), ``-``
  (delete one) and ``+x`` (insert ``x``). When form and lemma share no character the rule stores the
  lemma itself (``absolute``).

Copying is optional (:func:`choose_copy`): with copies, Irish lenition ``bhean`` → ``bean`` becomes the
prefix script ``= -`` ("keep the first letter, drop the h"), which also turns ``mháthair`` into
``máthair``; without copies it is ``- - +b``. Whichever variant gives fewer distinct rules on the train
split is used (fewer classes generalise better), as UDPipe 2 decides per treebank.

A rule that does not fit a form (it deletes more characters than the form has) gives back the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

COPY, DELETE = "=", "-"  # an insertion is "+" followed by the inserted character


@dataclass(frozen=True)
class LemmaRule:
    """How to turn a form into its lemma; hashable, so it can be a class label."""

    casing: tuple[tuple[str, int], ...]  # ("U"|"L", start); negative starts count from the end
    prefix: tuple[str, ...] = ()  # edit script for the text before the kept substring
    suffix: tuple[str, ...] = ()  # edit script for the text after it
    absolute: str | None = None  # the lower-cased lemma itself, when nothing of the form is kept

    def __str__(self) -> str:
        case = ",".join(f"{c}{i}" for c, i in self.casing)
        if self.absolute is not None:
            return f"{case};abs:{self.absolute}"
        return f"{case};{''.join(self.prefix)}|{''.join(self.suffix)}"


def _casing(lemma: str) -> tuple[tuple[str, int], ...]:
    runs: list[tuple[str, int]] = []
    half = len(lemma) // 2
    for i, ch in enumerate(lemma):
        case = "U" if ch.lower() != ch else "L"
        if not runs or runs[-1][0] != case:
            runs.append((case, i if i <= half else i - len(lemma)))
    return tuple(runs)


def _apply_casing(lemma: str, casing: tuple[tuple[str, int], ...]) -> str:
    for case, start in casing:
        if start == 0 and case == "L":
            continue  # the lemma is built lower-cased
        head, tail = lemma[:start], lemma[start:]
        lemma = head + (tail.upper() if case == "U" else tail.lower())
    return lemma


def _longest_common_substring(a: str, b: str) -> tuple[int, int, int]:
    """(start in a, start in b, length) of the first longest common substring."""
    best = (0, 0, 0)
    prev = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best[2]:
                    best = (i - cur[j], j - cur[j], cur[j])
        prev = cur
    return best


def edit_script(source: str, target: str, allow_copy: bool) -> tuple[str, ...]:
    """A minimal script of copies, deletions and insertions turning ``source`` into ``target``.

    Copies cost 0, deletions and insertions 1; among equal costs a copy is preferred, then a deletion.
    """
    n, m = len(source), len(target)
    inf = n + m + 1
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[str | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            if allow_copy and i and j and source[i - 1] == target[j - 1] and cost[i - 1][j - 1] < cost[i][j]:
                cost[i][j], back[i][j] = cost[i - 1][j - 1], COPY
            if i and cost[i - 1][j] + 1 < cost[i][j]:
                cost[i][j], back[i][j] = cost[i - 1][j] + 1, DELETE
            if j and cost[i][j - 1] + 1 < cost[i][j]:
                cost[i][j], back[i][j] = cost[i][j - 1] + 1, "+" + target[j - 1]
    ops: list[str] = []
    i, j = n, m
    while i or j:
        op = back[i][j]
        assert op is not None
        ops.append(op)
        if op == COPY:
            i, j = i - 1, j - 1
        elif op == DELETE:
            i -= 1
        else:
            j -= 1
    return tuple(reversed(ops))


def _consumed(script: tuple[str, ...]) -> int:
    return sum(op in (COPY, DELETE) for op in script)


def _run(script: tuple[str, ...], source: str) -> str:
    out, k = [], 0
    for op in script:
        if op == COPY:
            out.append(source[k])
            k += 1
        elif op == DELETE:
            k += 1
        else:
            out.append(op[1:])
    return "".join(out)


@lru_cache(maxsize=500_000)
def make_rule(form: str, lemma: str, allow_copy: bool = True) -> LemmaRule:
    """The rule that turns ``form`` into ``lemma`` (cached: treebanks repeat their words)."""
    casing = _casing(lemma)
    f, lem = form.lower(), lemma.lower()
    fs, ls, length = _longest_common_substring(f, lem)
    if length == 0:
        return LemmaRule(casing, absolute=lem)
    prefix = edit_script(f[:fs], lem[:ls], allow_copy)
    suffix = edit_script(f[fs + length :], lem[ls + length :], allow_copy)
    return LemmaRule(casing, prefix, suffix)


def apply_rule(form: str, rule: LemmaRule) -> str:
    """The lemma that ``rule`` makes of ``form``; the form itself when the rule does not fit."""
    if rule.absolute is not None:
        return _apply_casing(rule.absolute, rule.casing)
    f = form.lower()
    pre, suf = _consumed(rule.prefix), _consumed(rule.suffix)
    if pre + suf > len(f):
        return form
    middle = f[pre : len(f) - suf]
    lemma = _run(rule.prefix, f[:pre]) + middle + _run(rule.suffix, f[len(f) - suf :])
    if not lemma:
        return form
    return _apply_casing(lemma, rule.casing)


def choose_copy(pairs: Iterable[tuple[str, str]]) -> bool:
    """Whether copy operations give fewer distinct rules than plain delete/insert on (form, lemma) pairs."""
    pairs = list(pairs)
    with_copy = {make_rule(f, lem, True) for f, lem in pairs}
    without = {make_rule(f, lem, False) for f, lem in pairs}
    return len(with_copy) < len(without)
