"""The project's one CoNLL-U reader and writer; it keeps everything needed to write a sentence back.

Words (integer IDs) carry the ten columns; multi-word token lines (``3-4``), empty nodes (``5.1``) and
comments are kept beside them so predictions can be written as valid CoNLL-U with the gold tokenisation
(``format_conllu`` gives a file back byte for byte). Malformed input raises :class:`~zoo.errors.DataError`
naming ``file:line`` and what was expected. Every UD reader uses it: local files, Hub datasets
(:mod:`zoo.data.ud`), the task runner and the spaCy peer; only the CoNLL 2018 scorer
(:mod:`zoo.evaluation.ud.conll18`) keeps the official script's own reading, as a port of it.

Not the ``conllu`` package: it rewrites comments (``#text=x`` comes back as ``# text = x``) and accepts a
9-column line, IDs out of sequence and a HEAD outside the sentence without a word (checked with 6.0.0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import DataError

_ID_WORD = re.compile(r"^[1-9][0-9]*$")
_ID_RANGE = re.compile(r"^([1-9][0-9]*)-([1-9][0-9]*)$")
_ID_EMPTY = re.compile(r"^([0-9]+)\.([1-9][0-9]*)$")
COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")


@dataclass
class Sentence:
    """One CoNLL-U sentence: word rows plus the lines that are not words."""

    comments: list[str] = field(default_factory=list)
    words: list[list[str]] = field(default_factory=list)  # 10 columns each, ID = position + 1
    tokens: list[list[str]] = field(default_factory=list)  # multi-word token lines (10 columns)
    empty: list[list[str]] = field(default_factory=list)  # empty-node lines (10 columns)
    line: int = 0  # line number of the sentence's first line

    @property
    def sent_id(self) -> str | None:
        for c in self.comments:
            m = re.match(r"#\s*sent_id\s*=\s*(.*)$", c)
            if m:
                return m.group(1).strip()
        return None

    def column(self, name: str) -> list[str]:
        """One column over the words (``form``, ``upos``, ...)."""
        i = COLUMNS.index(name)
        return [w[i] for w in self.words]


def _fail(path: Path | str, line: int, what: str) -> DataError:
    return DataError(f"{path}:{line}: {what}")


def _check_sentence(s: Sentence, path: Path | str, lines: list[int]) -> None:
    n = len(s.words)
    if n == 0:
        raise _fail(path, s.line, "sentence has no word lines (integer IDs)")
    for w, ln in zip(s.words, lines, strict=False):
        head = w[6]
        if head == "_":
            raise _fail(path, ln, f"word {w[0]} has HEAD '_'; expected an integer 0..{n}")
        if not head.isdigit() or int(head) > n:
            raise _fail(path, ln, f"HEAD '{head}' of word {w[0]} is not an integer in 0..{n}")
        if head == w[0]:
            raise _fail(path, ln, f"word {w[0]} is its own head")
    for t in s.tokens:
        a, b = (int(x) for x in t[0].split("-"))
        if not (1 <= a < b <= n):
            raise _fail(
                path, s.line, f"multi-word token {t[0]} does not cover words of the sentence (1..{n})"
            )


def parse_conllu(text: str, path: Path | str = "<string>") -> list[Sentence]:
    """Parse CoNLL-U text into sentences, validating IDs, column counts and heads."""
    sentences: list[Sentence] = []
    cur = Sentence(line=1)
    word_lines: list[int] = []
    for ln, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if cur.words or cur.tokens or cur.comments:
                _check_sentence(cur, path, word_lines)
                sentences.append(cur)
            cur, word_lines = Sentence(line=ln + 1), []
            continue
        if not cur.words and not cur.tokens and not cur.comments:
            cur.line = ln
        if line.startswith("#"):
            if cur.words:
                raise _fail(path, ln, "comment line inside a sentence; comments must precede the first word")
            cur.comments.append(line)
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise _fail(path, ln, f"expected 10 tab-separated columns, found {len(cols)}")
        wid = cols[0]
        if _ID_WORD.match(wid):
            if int(wid) != len(cur.words) + 1:
                raise _fail(path, ln, f"word ID {wid} out of sequence; expected {len(cur.words) + 1}")
            if not cols[1]:
                raise _fail(path, ln, "empty FORM")
            cur.words.append(cols)
            word_lines.append(ln)
        elif m := _ID_RANGE.match(wid):
            if int(m.group(1)) != len(cur.words) + 1:
                raise _fail(path, ln, f"multi-word token {wid} must start at word {len(cur.words) + 1}")
            cur.tokens.append(cols)
        elif _ID_EMPTY.match(wid):
            cur.empty.append(cols)
        else:
            raise _fail(
                path, ln, f"bad ID '{wid}'; expected an integer, a range like 3-4 or a decimal like 5.1"
            )
    if cur.words or cur.tokens or cur.comments:
        _check_sentence(cur, path, word_lines)
        sentences.append(cur)
    return sentences


def read_conllu(path: str | Path) -> list[Sentence]:
    """Read and validate a CoNLL-U file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_conllu(text, path)


def format_conllu(sentences: list[Sentence]) -> str:
    """Write sentences back as CoNLL-U text, multi-word tokens and empty nodes in place."""
    out: list[str] = []
    for s in sentences:
        out.extend(s.comments)
        tokens = {int(t[0].split("-")[0]): t for t in s.tokens}
        empty: dict[int, list[list[str]]] = {}
        for e in s.empty:
            empty.setdefault(int(e[0].split(".")[0]), []).append(e)
        for e in empty.get(0, []):
            out.append("\t".join(e))
        for i, w in enumerate(s.words, start=1):
            if i in tokens:
                out.append("\t".join(tokens[i]))
            out.append("\t".join(w))
            for e in empty.get(i, []):
                out.append("\t".join(e))
        out.append("")
    return "\n".join(out) + "\n"
