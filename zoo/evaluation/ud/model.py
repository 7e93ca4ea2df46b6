"""The joint UD network and its inputs: sentences → sub-word segments → word vectors → tags, lemmas, tree.

- **Encoder input.** Every word is tokenised on its own (as ``is_split_into_words`` does); a word the
  tokenizer turns into nothing becomes the unknown token. A sentence whose sub-words do not fit
  ``max_length`` (specials included) is cut into consecutive word windows that do (as for NER), each
  encoded as its own segment; a single word longer than a window keeps its first sub-words. So every word
  gets a vector and no word is ever dropped; only context across a window boundary is lost.
- **Word vectors.** A learned softmax-weighted mix of *all* hidden states (embeddings + every layer,
  times a learned scale; ELMo's scalar mix), averaged over each word's sub-words (UDPipe 2's choice:
  morphology and lemmas live in suffixes, which a first-sub-word vector may miss). The artificial root is
  the first special token (``[CLS]``/``<s>``) of the sentence's first segment.
- **Heads.** Linear classifiers for UPOS, XPOS, FEATS (the whole feature string is one class, as in
  UDPipe 2) and the lemma rule (:mod:`zoo.evaluation.ud.lemma`); a biaffine arc scorer (Dozat & Manning
  2017) over MLP-reduced dependent and head vectors; a biaffine relation classifier on (dependent, head)
  pairs, which predicts full relations with subtypes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from zoo.data.conllu import Sentence
from zoo.evaluation.tagging import windows
from zoo.evaluation.ud.lemma import LemmaRule, apply_rule, choose_copy, make_rule

IGNORE = -100
TAG_COLUMNS = ("upos", "xpos", "feats", "deprel")  # CoNLL-U columns predicted as plain classes
ARC_DIM, LABEL_DIM, DROPOUT = 256, 128, 0.2


# ---------------------------------------------------------------------------------------------- labels


@dataclass
class Labels:
    """Class inventories, taken from the train split."""

    tags: dict[str, list[str]]  # column -> classes (upos, xpos, feats, deprel)
    lemma_rules: list[LemmaRule]
    lemma_copy: bool  # edit scripts with copy operations (see lemma.choose_copy)
    index: dict[str, dict] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.index = {c: {t: i for i, t in enumerate(v)} for c, v in self.tags.items()}
        self.index["lemma"] = {r: i for i, r in enumerate(self.lemma_rules)}

    def sizes(self) -> dict[str, int]:
        return {**{c: len(v) for c, v in self.tags.items()}, "lemma": len(self.lemma_rules)}


def build_labels(train: list[Sentence]) -> Labels:
    """Classes seen in ``train``; lemma rules from its (form, lemma) pairs (gold lemma ``_`` skipped)."""
    tags = {c: sorted({t for s in train for t in s.column(c)}) for c in TAG_COLUMNS}
    pairs = [(w[1], w[2]) for s in train for w in s.words if w[2] != "_"]
    copy = choose_copy(pairs) if pairs else True
    rules = sorted({make_rule(f, lem, copy) for f, lem in pairs}, key=str)
    return Labels(tags=tags, lemma_rules=rules, lemma_copy=copy)


def targets(sentence: Sentence, labels: Labels) -> dict[str, list[int]]:
    """Gold class ids of every word (``IGNORE`` where the class was not seen in train); heads as ints."""
    out = {c: [labels.index[c].get(t, IGNORE) for t in sentence.column(c)] for c in TAG_COLUMNS}
    out["lemma"] = [
        IGNORE if w[2] == "_" else labels.index["lemma"].get(make_rule(w[1], w[2], labels.lemma_copy), IGNORE)
        for w in sentence.words
    ]
    out["head"] = [int(h) for h in sentence.column("head")]
    return out


# ---------------------------------------------------------------------------------------------- inputs


@dataclass
class Encoded:
    """One sentence as encoder segments; ``positions[k][t]`` = word (1..n) of token t, 0 = root, -1 none."""

    index: int  # position of the sentence in its split
    n_words: int
    segments: list[list[int]]
    positions: list[list[int]]
    gold: dict[str, list[int]] | None = None

    @property
    def n_tokens(self) -> int:
        return sum(len(s) for s in self.segments)


class Encoder:
    """Turns sentences into :class:`Encoded` segments with a tokenizer (word pieces cached per form)."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        if start is None or end is None:
            raise ValueError("the tokenizer has no CLS/BOS or SEP/EOS token")
        self.start, self.end, self.limit = start, end, max_length - 2
        if self.limit < 1:
            raise ValueError(f"max_length {max_length} leaves no room for words")
        self.unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
        self._pieces: dict[str, list[int]] = {}

    def pieces(self, forms: list[str]) -> list[list[int]]:
        """Sub-word ids of each form (at most ``limit``; never empty)."""
        new = sorted({f for f in forms if f not in self._pieces})
        if new:
            ids = self.tokenizer(new, add_special_tokens=False)["input_ids"]
            for f, p in zip(new, ids, strict=True):
                self._pieces[f] = (p or [self.unk])[: self.limit]
        return [self._pieces[f] for f in forms]

    def encode(self, sentences: list[Sentence], labels: Labels | None = None) -> list[Encoded]:
        """Segments of every sentence; gold targets too when ``labels`` is given."""
        self.pieces([w[1] for s in sentences for w in s.words])
        out = []
        for i, s in enumerate(sentences):
            pieces = self.pieces(s.column("form"))
            segments, positions = [], []
            for a, b in windows([len(p) for p in pieces], self.limit):
                ids, pos = [self.start], [0 if a == 0 else -1]
                for w in range(a, b):
                    ids.extend(pieces[w])
                    pos.extend([w + 1] * len(pieces[w]))
                segments.append(ids + [self.end])
                positions.append(pos + [-1])
            out.append(Encoded(i, len(s.words), segments, positions, targets(s, labels) if labels else None))
        return out


def collate(batch: list[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Tensors of a batch: padded segments, where each token's vector goes, word mask and gold targets."""
    segs = [
        (b, ids, pos) for b, e in enumerate(batch) for ids, pos in zip(e.segments, e.positions, strict=True)
    ]
    width = max(len(ids) for _, ids, _ in segs)
    n = max(e.n_words for e in batch) + 1  # words per sentence incl. the root
    input_ids = torch.full((len(segs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(segs), width), dtype=torch.long)
    slot = torch.full((len(segs), width), len(batch) * n, dtype=torch.long)  # last row: discarded tokens
    for k, (b, ids, pos) in enumerate(segs):
        input_ids[k, : len(ids)] = torch.tensor(ids)
        attention[k, : len(ids)] = 1
        p = torch.tensor(pos)
        slot[k, : len(ids)] = torch.where(p >= 0, b * n + p, len(batch) * n)
    mask = torch.zeros((len(batch), n), dtype=torch.bool)
    for b, e in enumerate(batch):
        mask[b, 1 : e.n_words + 1] = True
    out = {"input_ids": input_ids, "attention_mask": attention, "slot": slot, "word_mask": mask}
    if batch[0].gold is not None:
        for key in (*TAG_COLUMNS, "lemma", "head"):
            t = torch.full((len(batch), n), IGNORE, dtype=torch.long)
            for b, e in enumerate(batch):
                t[b, 1 : e.n_words + 1] = torch.tensor(e.gold[key])
            out[key] = t
    return out


# ---------------------------------------------------------------------------------------------- network


class ScalarMix(nn.Module):
    """``gamma * sum_l softmax(w)_l * h_l`` over all hidden states."""

    def __init__(self, n: int):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n))
        self.gamma = nn.Parameter(torch.ones(()))

    def forward(self, hidden_states: tuple[torch.Tensor, ...]) -> torch.Tensor:
        w = torch.softmax(self.weights, dim=0)
        return self.gamma * sum(wi * h for wi, h in zip(w, hidden_states, strict=True))


def _mlp(d_in: int, d_out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, d_out), nn.GELU(), nn.Dropout(DROPOUT))


class JointUDModel(nn.Module):
    """Encoder + scalar mix + word pooling + tag, lemma, arc and relation heads."""

    def __init__(self, encoder: nn.Module, labels: Labels):
        super().__init__()
        self.encoder = encoder
        self.labels = labels
        hidden = encoder.config.hidden_size
        self.mix = ScalarMix(encoder.config.num_hidden_layers + 1)
        self.dropout = nn.Dropout(DROPOUT)
        sizes = labels.sizes()
        self.classifiers = nn.ModuleDict(
            {c: nn.Linear(hidden, max(sizes[c], 1)) for c in ("upos", "xpos", "feats", "lemma")}
        )
        self.arc_dep, self.arc_head = _mlp(hidden, ARC_DIM), _mlp(hidden, ARC_DIM)
        self.arc_weight = nn.Parameter(torch.zeros(ARC_DIM, ARC_DIM))
        self.arc_head_bias = nn.Linear(ARC_DIM, 1, bias=False)
        self.rel_dep, self.rel_head = _mlp(hidden, LABEL_DIM), _mlp(hidden, LABEL_DIM)
        n_rel = max(sizes["deprel"], 1)
        bound = LABEL_DIM**-0.5
        self.rel_weight = nn.Parameter(torch.empty(LABEL_DIM, n_rel, LABEL_DIM).uniform_(-bound, bound))
        self.rel_linear = nn.Linear(2 * LABEL_DIM, n_rel)

    def head_parameters(self) -> list[nn.Parameter]:
        """Everything but the encoder (trained with a higher learning rate)."""
        enc = {id(p) for p in self.encoder.parameters()}
        return [p for p in self.parameters() if id(p) not in enc]

    def words(self, input_ids, attention_mask, slot, word_mask) -> torch.Tensor:
        """Word vectors (batch, 1 + words, hidden); position 0 is the root."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        tokens = self.mix(out.hidden_states)
        b, n = word_mask.shape
        flat = tokens.reshape(-1, tokens.shape[-1])
        index = slot.reshape(-1)
        sums = flat.new_zeros((b * n + 1, flat.shape[-1])).index_add_(0, index, flat)
        counts = flat.new_zeros(b * n + 1).index_add_(0, index, attention_mask.reshape(-1).to(flat.dtype))
        return (sums / counts.clamp(min=1).unsqueeze(-1))[:-1].reshape(b, n, -1)

    def arc_scores(self, x: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        """(batch, dependent, head) biaffine scores; impossible heads (padding, self) get -1e9."""
        dep, head = self.arc_dep(x), self.arc_head(x)
        s = torch.einsum("bid,de,bje->bij", dep, self.arc_weight, head)
        s = s + self.arc_head_bias(head).transpose(1, 2)
        allowed = word_mask.clone()
        allowed[:, 0] = True  # the root is a possible head
        s = s.masked_fill(~allowed.unsqueeze(1), -1e9)
        eye = torch.eye(s.shape[1], dtype=torch.bool, device=s.device)
        return s.masked_fill(eye.unsqueeze(0), -1e9)

    def rel_scores(self, x: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """(batch, dependent, relation) scores for the given head of every word."""
        dep, head = self.rel_dep(x), self.rel_head(x)
        head = head.gather(1, heads.clamp(min=0).unsqueeze(-1).expand(-1, -1, head.shape[-1]))
        # dep_i^T W_r head_i for every relation r, as one matmul (torch.bilinear is slow on CPU)
        b, n, d = dep.shape
        left = (dep.reshape(b * n, d) @ self.rel_weight.reshape(d, -1)).reshape(b, n, -1, d)
        bilinear = (left * head.unsqueeze(2)).sum(-1)
        return bilinear + self.rel_linear(torch.cat([dep, head], -1))

    def forward(self, input_ids, attention_mask, slot, word_mask, **gold) -> dict[str, torch.Tensor]:
        """Logits of every head; with gold targets also ``loss`` (sum of the heads' mean cross-entropies)."""
        x = self.dropout(self.words(input_ids, attention_mask, slot, word_mask))
        out = {c: self.classifiers[c](x) for c in self.classifiers}
        out["arc"] = self.arc_scores(x, word_mask)
        out["x"] = x
        if gold:
            ce = nn.functional.cross_entropy
            loss = sum(
                ce(out[c].flatten(0, 1), gold[c].flatten(), ignore_index=IGNORE)
                for c in self.classifiers
                if (gold[c] != IGNORE).any()
            )
            loss = loss + ce(out["arc"].flatten(0, 1), gold["head"].flatten(), ignore_index=IGNORE)
            rel = self.rel_scores(x, gold["head"])
            if (gold["deprel"] != IGNORE).any():
                loss = loss + ce(rel.flatten(0, 1), gold["deprel"].flatten(), ignore_index=IGNORE)
            out["loss"] = loss
        return out


def apply_lemma(form: str, rule_id: int, labels: Labels) -> str:
    """The lemma of ``form`` under a predicted rule (the form itself when the rule does not fit)."""
    if not labels.lemma_rules:
        return form
    return apply_rule(form, labels.lemma_rules[rule_id])
