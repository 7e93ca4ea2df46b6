"""Held-out scores of a masked-LM head: accuracy at fixed masked positions, pseudo-perplexity, and a unigram
baseline on the same tokens.

A *masked LM* here is any callable ``lm(input_ids, attention_mask, selected) -> logits`` that returns the
vocabulary logits at the ``selected`` positions only (``[n_selected, vocab]``), so that the decoder runs on
the masked positions and not on every token. Sequences are lists of student ids with their special tokens.

- Accuracy: :func:`eval_positions` picks ``round(15 %)`` (at least one) of each sequence's non-special
  positions with a seeded generator; every picked position is replaced by the mask token (no 80/10/10 at
  evaluation) and the top-1 prediction is compared with the original piece.
- Pseudo-perplexity (Salazar et al. 2020): each non-special token masked in turn, one copy of the sequence
  per token; ``exp(-mean log p(token | rest))``.
- Unigram baseline: the most frequent non-special piece of the training sequences, predicted at every
  masked position (the unigram distribution's best guess); its perplexity is that of the add-one-smoothed
  unigram over the student vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from zoo.distill.record import MlmEval

MaskedLM = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
MASK_PROB = 0.15


def eval_positions(
    seqs: Sequence[Sequence[int]], special: Iterable[int], prob: float, seed: int
) -> list[np.ndarray]:
    """Per sequence, the sorted positions to mask: ``max(1, round(prob x n))`` of its ``n`` non-special
    positions, drawn without replacement by one seeded generator (same seed, same positions)."""
    rng = np.random.default_rng(seed)
    special = np.asarray(sorted(set(special)), dtype=np.int64)
    out = []
    for s in seqs:
        cands = np.flatnonzero(~np.isin(np.asarray(s, dtype=np.int64), special))
        n = max(1, round(prob * len(cands))) if len(cands) else 0
        out.append(np.sort(rng.choice(cands, size=n, replace=False)) if n else cands)
    return out


def unigram_counts(seqs: Iterable[Sequence[int]], vocab_size: int, special: Iterable[int]) -> np.ndarray:
    """How often each piece occurs in ``seqs`` (special pieces counted as 0)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for s in seqs:
        counts += np.bincount(np.asarray(s, dtype=np.int64), minlength=vocab_size)
    counts[np.asarray(sorted(set(special)), dtype=np.int64)] = 0
    return counts


def unigram_accuracy(counts: np.ndarray, targets: Sequence[int]) -> tuple[int, float]:
    """(most frequent piece, the share of ``targets`` equal to it); ties go to the lowest id."""
    best = int(np.argmax(counts))
    return best, float(np.mean(np.asarray(targets) == best)) if len(targets) else 0.0


def unigram_perplexity(counts: np.ndarray, targets: Sequence[int]) -> float:
    """Perplexity of the add-one-smoothed unigram ``(count + 1) / (total + vocab)`` on ``targets``."""
    p = (counts + 1) / (counts.sum() + len(counts))
    return float(np.exp(-np.mean(np.log(p[np.asarray(targets, dtype=np.int64)]))))


def _pad(seqs: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    att = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
        att[i, : len(s)] = 1
    return ids.to(device), att.to(device)


@torch.no_grad()
def masked_accuracy(
    lms: Sequence[MaskedLM],
    seqs: Sequence[Sequence[int]],
    positions: Sequence[np.ndarray],
    mask_id: int,
    pad_id: int,
    batch_size: int,
    device,
) -> tuple[list[float], list[int]]:
    """Top-1 accuracy of each masked LM in ``lms`` at ``positions`` (all replaced by ``mask_id``), and the
    target pieces in order."""
    correct = [0] * len(lms)
    targets: list[int] = []
    for a in range(0, len(seqs), batch_size):
        ids, att = _pad(seqs[a : a + batch_size], pad_id, device)
        sel = torch.zeros_like(ids, dtype=torch.bool)
        for i, pos in enumerate(positions[a : a + batch_size]):
            sel[i, torch.as_tensor(pos, dtype=torch.long)] = True
        gold = ids[sel]
        inp = ids.masked_fill(sel, mask_id)
        for k, lm in enumerate(lms):
            correct[k] += int((lm(inp, att, sel).argmax(-1) == gold).sum())
        targets += gold.tolist()
    return [c / max(1, len(targets)) for c in correct], targets


@torch.no_grad()
def pseudo_perplexity(
    lm: MaskedLM,
    seqs: Sequence[Sequence[int]],
    special: Iterable[int],
    mask_id: int,
    pad_id: int,
    batch_size: int,
    device,
) -> tuple[float, list[int]]:
    """Pseudo-perplexity over every non-special token of ``seqs`` (one masked copy per token), and the
    tokens scored in order."""
    special = set(special)
    items = [(s, j) for s in seqs for j, t in enumerate(s) if t not in special]
    total, targets = 0.0, []
    for a in range(0, len(items), batch_size):
        chunk = items[a : a + batch_size]
        ids, att = _pad([s for s, _ in chunk], pad_id, device)
        sel = torch.zeros_like(ids, dtype=torch.bool)
        sel[torch.arange(len(chunk)), torch.as_tensor([j for _, j in chunk])] = True
        gold = ids[sel]
        logp = torch.log_softmax(lm(ids.masked_fill(sel, mask_id), att, sel).float(), dim=-1)
        total += float(logp.gather(1, gold[:, None]).sum())
        targets += gold.tolist()
    return (math.exp(-total / len(targets)) if targets else float("nan")), targets


def corpus_counts(prep, s_tok) -> np.ndarray:
    """Piece counts (student ids, specials 0) of the training split of ``prep`` (a
    :class:`~zoo.distill.prepare.Prepared`)."""
    lookup = prep.vocab.lookup(s_tok.unk_token_id)
    train = lookup[np.concatenate([np.asarray(x) for x in prep.corpus.train["input_ids"]])]
    return unigram_counts([train], prep.vocab.size, s_tok.all_special_ids)


def evaluate_head(
    lm: MaskedLM, teacher_lm: MaskedLM | None, prep, s_tok, p, counts: np.ndarray, device
) -> MlmEval:
    """The head ``lm`` (and the teacher's, if any; both in eval mode) on the held-out split of ``prep``,
    preset ``p``: accuracy, pseudo-perplexity, and the unigram baseline of the training ``counts``."""
    lookup = prep.vocab.lookup(s_tok.unk_token_id)
    held = [lookup[np.asarray(x)].tolist() for x in prep.corpus.heldout["input_ids"]]
    special, mask_id, pad_id = s_tok.all_special_ids, s_tok.mask_token_id, s_tok.pad_token_id
    positions = eval_positions(held, special, MASK_PROB, p.seed)
    lms = [lm] + ([teacher_lm] if teacher_lm is not None else [])
    accs, targets = masked_accuracy(lms, held, positions, mask_id, pad_id, p.eval_batch_size, device)
    best, u_acc = unigram_accuracy(counts, targets)
    pppl_seqs = held[: p.mlm_pppl_sequences]
    pppl, scored = pseudo_perplexity(lm, pppl_seqs, special, mask_id, pad_id, p.eval_batch_size, device)
    return MlmEval(
        sequences=len(held),
        masked_positions=len(targets),
        accuracy=round(accs[0], 6),
        unigram_piece=s_tok.convert_ids_to_tokens(best),
        unigram_accuracy=round(u_acc, 6),
        pppl_sequences=len(pppl_seqs),
        pppl_tokens=len(scored),
        pseudo_perplexity=round(pppl, 4),
        unigram_perplexity=round(unigram_perplexity(counts, scored), 4),
        teacher_accuracy=round(accs[1], 6) if teacher_lm is not None else None,
        seed=p.seed,
    )
