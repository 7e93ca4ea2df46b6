"""Gold sentences into spaCy and its annotation back out as CoNLL-U columns.

Input (gold tokenisation and gold sentence segmentation, as the fine-tuned UD heads get): one ``Doc`` per
gold sentence built from its syntactic WORDS (``de`` + ``le`` for the token ``du``), with spaces as
spaCy's own CoNLL-U converter sets them when it builds training data (``spacy convert``): no space
between the words of a multi-word token, the token's ``SpaceAfter=No`` after its last word, the word's
own ``SpaceAfter=No`` elsewhere. The first word starts a sentence and no other word may
(``sent_starts``), which the parser respects; so each gold sentence comes back as one tree.

Output: LEMMA, UPOS, FEATS (``token.morph``), HEAD, DEPREL (``ROOT`` as ``root``), XPOS from
``token.tag`` only where a component assigns one (else ``_``). Should a sentence still come back with
several roots, :func:`single_root` keeps the root of the largest fragment and attaches the others to it
as ``parataxis`` (UD's relation for clauses placed side by side, which a split inside one gold sentence
nearly always separates).
"""

from __future__ import annotations

from zoo.data.conllu import Sentence

EXTRA_ROOT_DEPREL = "parataxis"


def gold_words(sentence: Sentence) -> tuple[list[str], list[bool]]:
    """The sentence's words and whether a space follows each (see the module docstring)."""
    last_of: dict[int, tuple[int, bool]] = {}  # word id in a multi-word token -> (its last word, space)
    for token in sentence.tokens:
        first, last = (int(x) for x in token[0].split("-"))
        for i in range(first, last + 1):
            last_of[i] = (last, "SpaceAfter=No" not in token[9].split("|"))
    words, spaces = [], []
    for i, w in enumerate(sentence.words, start=1):
        words.append(w[1])
        if i in last_of:
            last, space = last_of[i]
            spaces.append(space if i == last else False)
        else:
            spaces.append("SpaceAfter=No" not in w[9].split("|"))
    return words, spaces


def gold_doc(vocab, sentence: Sentence):
    """One spaCy ``Doc`` of the gold words, marked as a single sentence."""
    from spacy.tokens import Doc

    words, spaces = gold_words(sentence)
    return Doc(vocab, words=words, spaces=spaces, sent_starts=[True] + [False] * (len(words) - 1))


def single_root(heads: list[int], deprels: list[str]) -> tuple[list[int], list[str], int]:
    """One root per sentence: the root of the largest fragment (the first on a tie) stays; every other
    root is attached to it as ``parataxis``. Heads are 1-based, 0 = root. Returns the new heads, deprels
    and how many roots were attached."""
    heads, deprels = list(heads), list(deprels)
    roots = [i for i, h in enumerate(heads, start=1) if h == 0]
    if len(roots) <= 1:
        return heads, deprels, 0

    def root_of(i: int) -> int:
        seen = set()
        while heads[i - 1] != 0 and i not in seen:
            seen.add(i)
            i = heads[i - 1]
        return i

    size = {r: 0 for r in roots}
    for i in range(1, len(heads) + 1):
        r = root_of(i)
        if r in size:
            size[r] += 1
    keep = max(roots, key=lambda r: (size[r], -r))
    for r in roots:
        if r != keep:
            heads[r - 1], deprels[r - 1] = keep, EXTRA_ROOT_DEPREL
    return heads, deprels, len(roots) - 1


def doc_columns(doc, xpos: bool):
    """The predicted columns of one annotated ``Doc`` (a ``WordPrediction``) and the roots re-attached."""
    from zoo.evaluation.ud.task import WordPrediction

    heads = [0 if t.head.i == t.i else t.head.i + 1 for t in doc]
    deprels = ["root" if h == 0 else (t.dep_ or "_") for t, h in zip(doc, heads, strict=True)]
    heads, deprels, reattached = single_root(heads, deprels)
    prediction = WordPrediction(
        upos=[t.pos_ or "_" for t in doc],
        xpos=[(t.tag_ or "_") if xpos else "_" for t in doc],
        feats=[str(t.morph) or "_" for t in doc],
        lemma=[t.lemma_ or "_" for t in doc],
        head=heads,
        deprel=deprels,
    )
    return prediction, reattached
