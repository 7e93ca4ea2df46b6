"""The Hub's ``universal_dependencies`` rows back to CoNLL-U sentences (read by the one CoNLL-U reader).

The Hub dataset keeps one row per sentence with a list per CoNLL-U column, built by the ``conllu`` package:
``idx`` (the sent_id), ``text``, ``tokens`` (FORM), ``lemmas``, ``upos`` (a ClassLabel with ``_``), ``xpos``
(None for ``_``), ``feats`` / ``misc`` (Python reprs of dicts, ``"None"`` for ``_``), ``head`` (``"None"``
for ``_``), ``deprel``, ``deps`` (a repr of ``[(deprel, head), ...]``). Its lists hold every line of the
sentence, multi-word tokens and empty nodes included, but not the IDs. So a line without an integer HEAD is
not a word: an empty node when it has DEPS, else a multi-word token. A multi-word token covers as many of
the following words as make the surface tokens spell out the sentence's ``text`` (two when no choice does).
:func:`hub_sentences` writes the rows as CoNLL-U text and parses it with :func:`zoo.data.conllu.parse_conllu`,
so Hub data is validated like a local file.
"""

from __future__ import annotations

import ast
from typing import Any

from zoo.data.conllu import Sentence, parse_conllu

# The ClassLabel names of the Hub dataset's ``upos`` column (its loading script; "_" is a multi-word token)
HUB_UPOS = "NOUN PUNCT ADP NUM SYM SCONJ ADJ PART DET CCONJ PROPN PRON X _ ADV INTJ VERB AUX".split()
_NONE = (None, "None", "_", "")


def hub_sentences(ds, source: str = "<hub>") -> list[Sentence]:
    """Rows in the Hub dataset's column layout (a ``datasets.Dataset``) → validated CoNLL-U sentences."""
    upos_feature = getattr(ds.features["upos"], "feature", None)
    names = list(upos_feature.names) if hasattr(upos_feature, "names") else HUB_UPOS
    text = "".join(_sentence_text(row, names, i) for i, row in enumerate(ds))
    return parse_conllu(text, source)


def _columns(value: Any) -> str:
    """A ``feats`` / ``misc`` cell back to CoNLL-U: a dict repr (``{'A': 'B'}``, ``OrderedDict([...])``),
    ``"None"``, or a CoNLL-U string already (kept)."""
    if value in _NONE:
        return "_"
    value = str(value)
    if value.startswith("OrderedDict("):
        value = value[len("OrderedDict(") : -1]
    if not value.startswith(("{", "[")):
        return value
    parsed = ast.literal_eval(value)
    items = parsed.items() if isinstance(parsed, dict) else parsed
    out = "|".join(f"{k}={v}" if v not in (None, "") else k for k, v in items)
    return out or "_"


def _node_id(head: Any) -> str:
    return "".join(str(x) for x in head) if isinstance(head, tuple) else str(head)  # (5, '.', 1) -> 5.1


def _deps(value: Any) -> str:
    """A ``deps`` cell back to CoNLL-U: a repr of ``[(deprel, head), ...]`` or a CoNLL-U string."""
    if value in _NONE:
        return "_"
    value = str(value)
    if not value.startswith("["):
        return value
    return "|".join(f"{_node_id(head)}:{rel}" for rel, head in ast.literal_eval(value)) or "_"


def _spans(entries: list[tuple[str, str]], text: str) -> list[int] | None:
    """Words per multi-word token such that the surface tokens spell ``text`` (spaces ignored); None if no
    choice does. ``entries``: ``(kind, form)`` with kind ``word`` or ``mwt``, empty nodes left out."""
    target = "".join(text.split())
    failed: set[tuple[int, int]] = set()

    def walk(i: int, pos: int) -> list[int] | None:  # recurses at multi-word tokens only
        start = (i, pos)
        while i < len(entries):
            kind, form = entries[i]
            form = "".join(form.split())
            if (i, pos) in failed or not target.startswith(form, pos):
                failed.add(start)
                return None
            pos += len(form)
            if kind == "mwt":
                words = 0
                while i + 1 + words < len(entries) and entries[i + 1 + words][0] == "word":
                    words += 1
                for k in range(2, words + 1):
                    rest = walk(i + 1 + k, pos)
                    if rest is not None:
                        return [k, *rest]
                failed.add(start)
                return None
            i += 1
        if pos != len(target):
            failed.add(start)
            return None
        return []

    return walk(0, 0)


def _sentence_text(row: dict[str, Any], upos_names: list[str] | None, index: int) -> str:
    """One Hub row as a CoNLL-U sentence block (comments, token and word lines, a blank line)."""
    n = len(row["tokens"])
    cells = []
    for i in range(n):
        upos = row["upos"][i]
        upos = upos_names[upos] if upos_names is not None and isinstance(upos, int) else str(upos)
        head = row["head"][i]
        kind = "word" if head not in _NONE else ("empty" if row["deps"][i] not in _NONE else "mwt")
        deprel = row["deprel"][i]
        cells.append(
            (
                kind,
                [
                    row["tokens"][i],
                    row["lemmas"][i] or "_",
                    upos or "_",
                    row["xpos"][i] or "_",
                    _columns(row["feats"][i]),
                    "_" if head in _NONE else str(head),
                    "_" if deprel in _NONE else str(deprel),
                    _deps(row["deps"][i]),
                    _columns(row["misc"][i]),
                ],
            )
        )
    surface = [(kind, c[0]) for kind, c in cells if kind != "empty"]
    spans, text = None, row.get("text")
    if any(kind == "mwt" for kind, _ in surface) and text and text != " ".join(row["tokens"]):
        spans = _spans(surface, text)  # (a text joined from the tokens is the script's stand-in: no help)
    if spans is None:
        spans = [2] * sum(kind == "mwt" for kind, _ in surface)
    lines = [f"# sent_id = {row.get('idx') or index + 1}"] + ([f"# text = {text}"] if text else [])
    words, empty_in_word, spans_left = 0, 0, iter(spans)
    for kind, c in cells:
        if kind == "word":
            words += 1
            empty_in_word = 0
            lines.append("\t".join([str(words), *c]))
        elif kind == "empty":
            empty_in_word += 1
            lines.append("\t".join([f"{words}.{empty_in_word}", *c[:5], "_", "_", c[7], c[8]]))
        else:
            k = next(spans_left, 2)
            lines.append("\t".join([f"{words + 1}-{words + k}", c[0], *["_"] * 7, c[8]]))
    return "\n".join(lines) + "\n\n"
