"""Fine-tune with only the embedding rows a task uses: the same model, less work per step.

A multilingual encoder carries 250k word pieces (96M of multilingual-e5-small's 118M parameters); one task's
texts use a few thousand. Rows that no input uses get a zero gradient and never reach an output, yet AdamW
and the gradient buffers touch all of them at every step. :func:`compact_embeddings` keeps the rows the
task's splits use (and every id up to the padding id, so that padding keeps its id), remaps the inputs and
swaps in the smaller matrix. Predictions are those of the full model: the only difference, weight decay on
rows no input uses, never reaches an output. Records say how many rows were kept (``details.embedding_rows``).
"""

from __future__ import annotations

from typing import Any

# Compacting pays when it drops a real share of the rows; a student's vocabulary, pruned to its language's
# corpus already, is left as it is when the task uses most of it.
MIN_SHARE_DROPPED = 0.25


def used_ids(datasets: list[Any]) -> set[int]:
    """Every token id in the ``input_ids`` of ``datasets``."""
    ids: set[int] = set()
    for d in datasets:
        for row in d["input_ids"]:
            ids.update(row)
    return ids


def kept_rows(datasets: list[Any], pad_id: int) -> list[int]:
    """The embedding rows a compacted model keeps, in order: every id the inputs use and every id up to the
    padding id."""
    return sorted(used_ids(datasets) | set(range(pad_id + 1)))


def compact_embeddings(model, datasets: list[Any], pad_id: int) -> tuple[list[Any], dict[str, int]]:
    """Shrink ``model``'s input embeddings to the rows ``datasets`` use; returns the remapped datasets and
    ``{"model": rows before, "kept": rows after}``. Nothing changes when few rows would be dropped."""
    import numpy as np
    import torch

    emb = model.get_input_embeddings()
    rows = emb.num_embeddings
    keep = kept_rows(datasets, pad_id)
    if len(keep) > (1 - MIN_SHARE_DROPPED) * rows:
        return datasets, {"model": rows, "kept": rows}
    remap = np.full(rows, -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))

    remapped = []
    for d in datasets:
        ids = [remap[np.asarray(r, dtype=np.int64)].tolist() for r in d["input_ids"]]
        remapped.append(d.remove_columns("input_ids").add_column("input_ids", ids))
    small = torch.nn.Embedding(
        len(keep),
        emb.embedding_dim,
        padding_idx=emb.padding_idx,
        dtype=emb.weight.dtype,
        device=emb.weight.device,
    )
    with torch.no_grad():
        small.weight.copy_(emb.weight[torch.as_tensor(keep, device=emb.weight.device)])
    model.set_input_embeddings(small)
    model.config.vocab_size = len(keep)
    return remapped, {"model": rows, "kept": len(keep)}


def full_embeddings(compact, original, datasets: list[Any], pad_id: int):
    """The embedding a fine-tuned compacted model would have had uncompacted: ``original`` (the table before
    :func:`compact_embeddings`, which leaves it untouched) with the kept rows of ``compact`` written back.
    ``datasets`` are the inputs before remapping. A table that was not compacted is returned as it is."""
    import torch

    if compact.num_embeddings == original.num_embeddings:
        return compact
    keep = kept_rows(datasets, pad_id)
    if len(keep) != compact.num_embeddings:
        raise ValueError(f"{compact.num_embeddings} compacted rows, but these inputs keep {len(keep)}")
    rows, dim = original.num_embeddings, original.embedding_dim
    full = torch.nn.Embedding(rows, dim, padding_idx=original.padding_idx)
    with torch.no_grad():
        full.weight.copy_(original.weight.detach().float().cpu())
        full.weight[torch.as_tensor(keep)] = compact.weight.detach().float().cpu()
    return full
