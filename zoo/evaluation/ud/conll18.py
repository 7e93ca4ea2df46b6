"""CoNLL 2018 shared-task UD metrics: a faithful re-implementation of ``conll18_ud_eval.py`` (v1.2).

Metrics (all as precision / recall / F1, and accuracy over aligned words where it applies):

- ``Tokens``, ``Sentences``: exact character spans in the concatenated text (spaces removed).
- ``Words``: gold and system words aligned by span; inside *multi-word spans* (a minimal stretch of text
  covering every multi-word token that touches it, gold or system) words are aligned by the longest
  common subsequence of their lower-cased forms.
- ``UPOS``, ``XPOS``, ``UFeats`` (only :data:`UNIVERSAL_FEATURES`), ``AllTags``, ``Lemmas`` (a gold
  lemma ``_`` matches anything), ``UAS``, ``LAS`` (relation subtypes stripped: ``nmod:poss`` → ``nmod``).
- ``CLAS``, ``MLAS``, ``BLEX``: restricted to content words (:data:`CONTENT_DEPRELS`). MLAS also compares
  UPOS, universal features and the functional children (:data:`FUNCTIONAL_DEPRELS`); BLEX the lemma.

Input is checked exactly where the official script checks it (10 columns, integer IDs in sequence,
integer non-negative HEADs inside the sentence, no cycles, one root per sentence, non-empty FORM, a
final empty line, the same text in gold and system); errors are :class:`~zoo.errors.DataError`
carrying ``file:line``.

It keeps its own CoNLL-U reading (:class:`_Loader`), apart from the project's reader
(:mod:`zoo.data.conllu`): as a port of the official script it reads, checks and reduces the input
(universal features only, relation subtypes stripped, multi-word spans) exactly where and as that script
does, so that its scores and its errors stay the official ones. This module is the one allowed over the
size limit, for the same reason: it follows the script's structure.
"""

from __future__ import annotations

import bisect
import os
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import DataError

METRICS: tuple[str, ...] = (
    "Tokens",
    "Sentences",
    "Words",
    "UPOS",
    "XPOS",
    "UFeats",
    "AllTags",
    "Lemmas",
    "UAS",
    "LAS",
    "CLAS",
    "MLAS",
    "BLEX",
)

CONTENT_DEPRELS = frozenset(
    {
        "nsubj",
        "obj",
        "iobj",
        "csubj",
        "ccomp",
        "xcomp",
        "obl",
        "vocative",
        "expl",
        "dislocated",
        "advcl",
        "advmod",
        "discourse",
        "nmod",
        "appos",
        "nummod",
        "acl",
        "amod",
        "conj",
        "fixed",
        "flat",
        "compound",
        "list",
        "parataxis",
        "orphan",
        "goeswith",
        "reparandum",
        "root",
        "dep",
    }
)

FUNCTIONAL_DEPRELS = frozenset({"aux", "cop", "mark", "det", "clf", "case", "cc"})

UNIVERSAL_FEATURES = frozenset(
    {
        "PronType",
        "NumType",
        "Poss",
        "Reflex",
        "Foreign",
        "Abbr",
        "Gender",
        "Animacy",
        "Number",
        "Case",
        "Definite",
        "Degree",
        "VerbForm",
        "Mood",
        "Tense",
        "Aspect",
        "Voice",
        "Evident",
        "Polarity",
        "Person",
        "Polite",
    }
)

ID, FORM, LEMMA, UPOS, XPOS, FEATS, HEAD, DEPREL, DEPS, MISC = range(10)

Span = tuple[int, int]  # [start, end) in the concatenated text


# --------------------------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class Score:
    """One metric: fractions in [0, 1]; ``aligned_accuracy`` is None for span-level metrics."""

    precision: float
    recall: float
    f1: float
    aligned_accuracy: float | None
    gold_total: int
    system_total: int
    correct: int
    aligned_total: int | None = None

    @classmethod
    def from_counts(
        cls, gold_total: int, system_total: int, correct: int, aligned_total: int | None = None
    ) -> Score:
        """Build a score from raw counts, with the official script's zero-denominator conventions."""
        total = gold_total + system_total
        if aligned_total is None:
            accuracy = None
        else:
            accuracy = correct / aligned_total if aligned_total else 0.0
        return cls(
            precision=correct / system_total if system_total else 0.0,
            recall=correct / gold_total if gold_total else 0.0,
            f1=2 * correct / total if total else 0.0,
            aligned_accuracy=accuracy,
            gold_total=gold_total,
            system_total=system_total,
            correct=correct,
            aligned_total=aligned_total,
        )

    def as_percent(self) -> dict[str, float | None]:
        """Precision, recall, F1 and aligned accuracy in percent (accuracy None where undefined)."""
        acc = None if self.aligned_accuracy is None else 100 * self.aligned_accuracy
        return {
            "precision": 100 * self.precision,
            "recall": 100 * self.recall,
            "f1": 100 * self.f1,
            "aligned_accuracy": acc,
        }

    def counts(self) -> dict[str, int | None]:
        """The raw counts behind the score."""
        return {
            "correct": self.correct,
            "gold_total": self.gold_total,
            "system_total": self.system_total,
            "aligned_total": self.aligned_total,
        }


# --------------------------------------------------------------------------------------------- reading


@dataclass
class Word:
    """A syntactic word (a line with an integer ID, possibly inside a multi-word token)."""

    index: int  # position in Treebank.words
    line: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str  # universal features only, sorted, joined by "|"
    head: str  # raw HEAD column; parsed when the sentence is closed
    deprel: str  # universal part only
    span: Span  # the span of the whole token for words of a multi-word token
    is_multiword: bool
    parent: int | None = None  # index of the head word; None for the root
    functional_children: list[int] = field(default_factory=list)

    @property
    def is_content(self) -> bool:
        """Whether the relation is one of the content relations scored by CLAS / MLAS / BLEX."""
        return self.deprel in CONTENT_DEPRELS

    @property
    def is_functional(self) -> bool:
        """Whether the relation is a functional one (its dependent is compared by MLAS)."""
        return self.deprel in FUNCTIONAL_DEPRELS


@dataclass
class Treebank:
    """A CoNLL-U file reduced to what the metrics need."""

    source: str
    text: str = ""  # concatenated token forms without spaces
    tokens: list[Span] = field(default_factory=list)
    token_lines: list[int] = field(default_factory=list)
    sentences: list[Span] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)

    def line_at(self, char_index: int) -> int:
        """Line of the token covering ``char_index`` (the last token's line past the end, 0 if empty)."""
        if not self.tokens:
            return 0
        starts = [start for start, _ in self.tokens]
        pos = max(bisect.bisect_right(starts, char_index) - 1, 0)
        return self.token_lines[pos]


def universal_feats(feats: str) -> str:
    """Keep only the universal features of a FEATS column, sorted (``_`` becomes ``""``)."""
    kept = (feat for feat in feats.split("|") if feat.split("=", 1)[0] in UNIVERSAL_FEATURES)
    return "|".join(sorted(kept))


def _strip_spaces(form: str) -> str:
    """Remove every Unicode space separator (category Zs) from a form."""
    return "".join(c for c in form if unicodedata.category(c) != "Zs")


class _Loader:
    """Reads CoNLL-U lines into a :class:`Treebank`, checking them as the official script does."""

    def __init__(self, lines: Iterable[str], source: str):
        self._lines: Iterator[str] = iter(lines)
        self.source = source
        self.line_no = 0
        self.tb = Treebank(source)
        self._chunks: list[str] = []
        self._index = 0  # characters read so far
        self._sentence_start: int | None = None  # index of the open sentence's first word

    def error(self, message: str, line: int | None = None) -> DataError:
        """A DataError located at ``line`` (default: the current line)."""
        return DataError(f"{self.source}:{self.line_no if line is None else line}: {message}")

    def _next_line(self) -> str | None:
        line = next(self._lines, None)
        if line is None:
            return None
        self.line_no += 1
        return line.rstrip("\r\n")

    def load(self) -> Treebank:
        """Read every line; return the treebank."""
        while (line := self._next_line()) is not None:
            if self._sentence_start is None:
                if line.startswith("#"):
                    continue
                self.tb.sentences.append((self._index, self._index))
                self._sentence_start = len(self.tb.words)
            if line:
                self._read_token(line)
            else:
                self._close_sentence()
        if self._sentence_start is not None:
            raise self.error("the CoNLL-U file does not end with an empty line")
        self.tb.text = "".join(self._chunks)
        return self.tb

    def _split(self, line: str) -> list[str]:
        columns = line.split("\t")
        if len(columns) != 10:
            raise self.error(f"the line does not contain 10 tab-separated columns: {line!r}")
        return columns

    def _read_token(self, line: str) -> None:
        columns = self._split(line)
        if "." in columns[ID]:
            return  # empty node of the enhanced graph
        form = _strip_spaces(columns[FORM])
        if not form:
            raise self.error("empty FORM")
        columns[FORM] = form
        span = (self._index, self._index + len(form))
        self._chunks.append(form)
        self.tb.tokens.append(span)
        self.tb.token_lines.append(self.line_no)
        self._index = span[1]
        if "-" in columns[ID]:
            self._read_multiword(columns[ID], span)
        else:
            self._read_word(columns, span)

    def _read_multiword(self, token_id: str, span: Span) -> None:
        try:
            first, last = map(int, token_id.split("-"))
        except ValueError:
            raise self.error(f"cannot parse multi-word token ID {token_id!r}") from None
        for _ in range(first, last + 1):
            line = self._next_line()
            columns = self._split("" if line is None else line)
            self._add_word(columns, span, is_multiword=True)

    def _read_word(self, columns: list[str], span: Span) -> None:
        try:
            word_id = int(columns[ID])
        except ValueError:
            raise self.error(f"cannot parse word ID {columns[ID]!r}") from None
        expected = len(self.tb.words) - self._sentence_start + 1
        if word_id != expected:
            raise self.error(
                f"incorrect word ID {columns[ID]!r} for word {columns[FORM]!r}, expected {expected}"
            )
        try:
            head = int(columns[HEAD])
        except ValueError:
            raise self.error(f"cannot parse HEAD {columns[HEAD]!r}") from None
        if head < 0:
            raise self.error("HEAD cannot be negative")
        self._add_word(columns, span, is_multiword=False)

    def _add_word(self, columns: list[str], span: Span, is_multiword: bool) -> None:
        self.tb.words.append(
            Word(
                index=len(self.tb.words),
                line=self.line_no,
                form=columns[FORM],
                lemma=columns[LEMMA],
                upos=columns[UPOS],
                xpos=columns[XPOS],
                feats=universal_feats(columns[FEATS]),
                head=columns[HEAD],
                deprel=columns[DEPREL].split(":")[0],
                span=span,
                is_multiword=is_multiword,
            )
        )

    def _close_sentence(self) -> None:
        start = self._sentence_start
        words = self.tb.words[start:]
        self._resolve_heads(start)
        for word in words:
            if word.parent is not None and word.is_functional:
                self.tb.words[word.parent].functional_children.append(word.index)
        roots = sum(1 for word in words if word.parent is None)
        if roots != 1:
            raise self.error(f"there are {roots} roots in the sentence ending here")
        self.tb.sentences[-1] = (self.tb.sentences[-1][0], self._index)
        self._sentence_start = None

    def _head_of(self, word: Word, size: int) -> int:
        """The word's HEAD as an integer, checked to lie within a sentence of ``size`` words."""
        try:
            head = int(word.head)
        except ValueError:
            raise self.error(f"cannot parse HEAD {word.head!r}", word.line) from None
        if head < 0 or head > size:
            raise self.error(f"HEAD {word.head!r} points outside of the sentence", word.line)
        return head

    def _resolve_heads(self, start: int) -> None:
        """Set each word's ``parent``, following head chains in order and rejecting cycles."""
        words = self.tb.words
        size = len(words) - start
        for first in range(start, len(words)):
            chain: list[tuple[Word, int]] = []
            on_chain: set[int] = set()
            word = words[first]
            while word.parent is None:
                if word.index in on_chain:
                    raise self.error("there is a cycle in the sentence", word.line)
                head = self._head_of(word, size)
                if head == 0:
                    break
                chain.append((word, start + head - 1))
                on_chain.add(word.index)
                word = words[start + head - 1]
            for chained, parent in chain:
                chained.parent = parent


def load_conllu_lines(lines: Iterable[str], source: str = "<string>") -> Treebank:
    """Load CoNLL-U from lines (with or without line ends); ``source`` names it in error messages."""
    return _Loader(lines, source).load()


def load_conllu_text(text: str, source: str = "<string>") -> Treebank:
    """Load CoNLL-U from a string (lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as in a text file)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the text ends with a line end: no further (empty) line
    return load_conllu_lines(lines, source)


def load_conllu(path: str | os.PathLike) -> Treebank:
    """Load a CoNLL-U file (UTF-8); unreadable or malformed files raise DataError."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as handle:
            return _Loader(handle, str(path)).load()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}:{_first_undecodable_line(path)}: not valid UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def _first_undecodable_line(path: Path) -> int:
    """Number of the first line of ``path`` that is not valid UTF-8 (0 if none is found)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


# --------------------------------------------------------------------------------------------- aligning


@dataclass
class Alignment:
    """Pairs (gold word index, system word index) of aligned words, in text order."""

    gold: Treebank
    system: Treebank
    pairs: list[tuple[int, int]]

    def system_to_gold(self) -> dict[int, int]:
        """Map from a system word index to the index of its aligned gold word."""
        return {s: g for g, s in self.pairs}


def _beyond_end(words: list[Word], i: int, end: int) -> bool:
    """Whether ``words[i]`` lies past a multi-word span ending at ``end``."""
    if i >= len(words):
        return True
    if words[i].is_multiword:
        return words[i].span[0] >= end
    return words[i].span[1] > end


def _extend_end(word: Word, end: int) -> int:
    """A multi-word span's end, pushed to cover ``word`` if it is part of a longer multi-word token."""
    if word.is_multiword and word.span[1] > end:
        return word.span[1]
    return end


def _multiword_span(gold: list[Word], system: list[Word], gi: int, si: int) -> tuple[int, int, int, int]:
    """The minimal multi-word span starting at ``gold[gi]`` / ``system[si]`` (one is multi-word).

    Returns (gold start, system start, gold end, system end) word indices, ends exclusive.
    """
    if gold[gi].is_multiword:
        end = gold[gi].span[1]
        if not system[si].is_multiword and system[si].span[0] < gold[gi].span[0]:
            si += 1
    else:
        end = system[si].span[1]
        if gold[gi].span[0] < system[si].span[0]:
            gi += 1
    gs, ss = gi, si
    while not _beyond_end(gold, gi, end) or not _beyond_end(system, si, end):
        if gi < len(gold) and (si >= len(system) or gold[gi].span[0] <= system[si].span[0]):
            end = _extend_end(gold[gi], end)
            gi += 1
        else:
            end = _extend_end(system[si], end)
            si += 1
    return gs, ss, gi, si


def _lcs_pairs(gold_forms: list[str], system_forms: list[str]) -> list[tuple[int, int]]:
    """Offsets of the words matched by the longest common subsequence of two form lists."""
    n, m = len(gold_forms), len(system_forms)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for g in reversed(range(n)):
        for s in reversed(range(m)):
            if gold_forms[g] == system_forms[s]:
                lcs[g][s] = 1 + lcs[g + 1][s + 1]
            else:
                lcs[g][s] = max(lcs[g + 1][s], lcs[g][s + 1])
    pairs, g, s = [], 0, 0
    while g < n and s < m:
        if gold_forms[g] == system_forms[s]:
            pairs.append((g, s))
            g, s = g + 1, s + 1
        elif lcs[g][s] == lcs[g + 1][s]:
            g += 1
        else:
            s += 1
    return pairs


def align_words(gold: Treebank, system: Treebank) -> Alignment:
    """Align gold and system words: by span outside multi-word spans, by LCS of forms inside them."""
    gw, sw = gold.words, system.words
    pairs: list[tuple[int, int]] = []
    gi = si = 0
    while gi < len(gw) and si < len(sw):
        if gw[gi].is_multiword or sw[si].is_multiword:
            gs, ss, gi, si = _multiword_span(gw, sw, gi, si)
            gold_forms = [w.form.lower() for w in gw[gs:gi]]
            system_forms = [w.form.lower() for w in sw[ss:si]]
            pairs.extend((gs + g, ss + s) for g, s in _lcs_pairs(gold_forms, system_forms))
        elif gw[gi].span == sw[si].span:
            pairs.append((gi, si))
            gi, si = gi + 1, si + 1
        elif gw[gi].span[0] <= sw[si].span[0]:
            gi += 1
        else:
            si += 1
    return Alignment(gold, system, pairs)


# --------------------------------------------------------------------------------------------- scoring

_NOT_ALIGNED = -1  # a system word's head that has no gold counterpart


@dataclass
class _View:
    """One side's words, with a function that maps its word indices to gold word indices."""

    words: list[Word]
    to_gold: dict[int, int] | None  # None on the gold side (identity)

    def resolve(self, index: int | None) -> int | None:
        """The gold word index that ``index`` stands for (None stays None: the root)."""
        if index is None or self.to_gold is None:
            return index
        return self.to_gold.get(index, _NOT_ALIGNED)


KeyFn = Callable[[_View, Word, Word], Hashable]  # (side, word, its aligned gold word) -> comparison key


def _lemma(word: Word, gold_word: Word) -> str:
    """The word's lemma, or ``_`` when the gold lemma is ``_`` (so that anything matches it)."""
    return word.lemma if gold_word.lemma != "_" else "_"


def _attachment(view: _View, word: Word) -> tuple[int | None, str]:
    return view.resolve(word.parent), word.deprel


def _functional_children(view: _View, word: Word) -> tuple[tuple[int | None, str, str, str], ...]:
    children = (view.words[c] for c in word.functional_children)
    return tuple((view.resolve(c.index), c.deprel, c.upos, c.feats) for c in children)


_KEYS: dict[str, KeyFn] = {
    "UPOS": lambda v, w, g: w.upos,
    "XPOS": lambda v, w, g: w.xpos,
    "UFeats": lambda v, w, g: w.feats,
    "AllTags": lambda v, w, g: (w.upos, w.xpos, w.feats),
    "Lemmas": lambda v, w, g: _lemma(w, g),
    "UAS": lambda v, w, g: v.resolve(w.parent),
    "LAS": lambda v, w, g: _attachment(v, w),
    "CLAS": lambda v, w, g: _attachment(v, w),
    "MLAS": lambda v, w, g: (_attachment(v, w), w.upos, w.feats, _functional_children(v, w)),
    "BLEX": lambda v, w, g: (_attachment(v, w), _lemma(w, g)),
}

_CONTENT_ONLY = frozenset({"CLAS", "MLAS", "BLEX"})


def spans_score(gold_spans: list[Span], system_spans: list[Span]) -> Score:
    """Score spans (tokens, sentences): correct when both start and end coincide."""
    correct = gi = si = 0
    while gi < len(gold_spans) and si < len(system_spans):
        if system_spans[si][0] < gold_spans[gi][0]:
            si += 1
        elif gold_spans[gi][0] < system_spans[si][0]:
            gi += 1
        else:
            correct += gold_spans[gi][1] == system_spans[si][1]
            gi, si = gi + 1, si + 1
    return Score.from_counts(len(gold_spans), len(system_spans), correct)


def alignment_score(alignment: Alignment, key: KeyFn | None = None, content_only: bool = False) -> Score:
    """Score aligned words: all of them (no key), or those whose keys agree on both sides."""
    gold_words, system_words = alignment.gold.words, alignment.system.words

    def keep(word: Word) -> bool:
        return not content_only or word.is_content

    gold_total = sum(1 for w in gold_words if keep(w))
    system_total = sum(1 for w in system_words if keep(w))
    pairs = [(g, s) for g, s in alignment.pairs if keep(gold_words[g])]
    if key is None:
        return Score.from_counts(gold_total, system_total, len(pairs))
    gold_view = _View(gold_words, None)
    system_view = _View(system_words, alignment.system_to_gold())
    correct = 0
    for g, s in pairs:
        gold_word = gold_words[g]
        correct += key(gold_view, gold_word, gold_word) == key(system_view, system_words[s], gold_word)
    return Score.from_counts(gold_total, system_total, correct, len(pairs))


def check_same_text(gold: Treebank, system: Treebank) -> None:
    """Raise DataError (naming both places) unless gold and system tokens spell the same text."""
    if gold.text == system.text:
        return
    i = len(os.path.commonprefix([gold.text, system.text]))
    raise DataError(
        "the concatenation of tokens in gold and system differs: "
        f"gold {gold.source}:{gold.line_at(i)} has {gold.text[i : i + 20]!r}, "
        f"system {system.source}:{system.line_at(i)} has {system.text[i : i + 20]!r}",
        hint="the system file must contain the gold text (spaces aside), tokenised in any way",
    )


def evaluate(gold: Treebank, system: Treebank) -> dict[str, Score]:
    """All CoNLL 2018 metrics, in the official order (see :data:`METRICS`)."""
    check_same_text(gold, system)
    alignment = align_words(gold, system)
    scores = {
        "Tokens": spans_score(gold.tokens, system.tokens),
        "Sentences": spans_score(gold.sentences, system.sentences),
        "Words": alignment_score(alignment),
    }
    for metric, key in _KEYS.items():
        scores[metric] = alignment_score(alignment, key, content_only=metric in _CONTENT_ONLY)
    return {metric: scores[metric] for metric in METRICS}


def evaluate_conllu(gold_path: str | os.PathLike, system_path: str | os.PathLike) -> dict[str, Score]:
    """Evaluate a system CoNLL-U file against a gold one (both UTF-8)."""
    return evaluate(load_conllu(gold_path), load_conllu(system_path))


def evaluate_conllu_text(gold_str: str, system_str: str) -> dict[str, Score]:
    """Evaluate in-memory CoNLL-U strings; errors name them ``<gold>`` and ``<system>``."""
    return evaluate(load_conllu_text(gold_str, "<gold>"), load_conllu_text(system_str, "<system>"))


# --------------------------------------------------------------------------------------------- output


def format_table(scores: dict[str, Score], counts: bool = False) -> str:
    """The official script's ``--verbose`` table (or its ``--counts`` table)."""
    if counts:
        lines = ["Metric     | Correct   |      Gold | Predicted | Aligned"]
    else:
        lines = ["Metric     | Precision |    Recall |  F1 Score | AligndAcc"]
    lines.append("-----------+-----------+-----------+-----------+-----------")
    for metric in METRICS:
        s = scores[metric]
        if counts:
            aligned = s.aligned_total or (s.correct if metric == "Words" else "")
            lines.append(f"{metric:11}|{s.correct:10} |{s.gold_total:10} |{s.system_total:10} |{aligned:10}")
        else:
            acc = "" if s.aligned_accuracy is None else f"{100 * s.aligned_accuracy:10.2f}"
            lines.append(
                f"{metric:11}|{100 * s.precision:10.2f} |{100 * s.recall:10.2f} |{100 * s.f1:10.2f} |{acc}"
            )
    return "\n".join(lines)


def scores_to_json(scores: dict[str, Score], counts: bool = False) -> dict[str, dict]:
    """Metric → {precision, recall, f1, aligned_accuracy} in percent (plus raw counts if asked)."""
    return {metric: {**s.as_percent(), **(s.counts() if counts else {})} for metric, s in scores.items()}
