"""MiniLMv2 self-attention relation distillation: capture Q, K, V with forward hooks, compare relations.

For each of Q, K and V the hidden vectors of one layer are split into ``A_r`` relation heads; the relation
of a head is ``softmax(X Xᵀ / sqrt(d_r))`` over the keys (padding keys masked). The loss is the KL
divergence KL(teacher ‖ student) summed over keys, over heads and real query tokens, divided by
``A_r`` × the number of real query tokens, summed over Q-Q, K-K and V-V. Relations are computed in fp32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

QKV = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class StopForward(Exception):
    """Raised by a :class:`QKVCapture` with ``stop_after=True`` once Q, K and V are captured."""


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """Self-attention modules with ``query``/``key``/``value`` Linear layers, in layer order (BERT,
    RoBERTa, XLM-R, ELECTRA)."""
    found = []
    for _, module in model.named_modules():
        if all(isinstance(getattr(module, n, None), nn.Linear) for n in ("query", "key", "value")):
            found.append(module)
    return found


def layer_modules(model: nn.Module) -> list[nn.Module]:
    """The transformer layers holding those self-attention modules, in layer order: for each, the module
    at its first numbered path component (``encoder.layer.3`` for ``encoder.layer.3.attention.self``)."""
    found = []
    for name, module in model.named_modules():
        if all(isinstance(getattr(module, n, None), nn.Linear) for n in ("query", "key", "value")):
            parts = name.split(".")
            cut = next((i for i, p in enumerate(parts) if p.isdigit()), None)
            if cut is None:
                raise ValueError(f"{type(model).__name__}: no numbered layer above {name}")
            found.append(model.get_submodule(".".join(parts[: cut + 1])))
    return found


def num_relation_layers(model: nn.Module) -> int:
    """Number of layers whose Q, K, V can be captured."""
    return len(attention_modules(model))


class QKVCapture:
    """Forward hooks on the query/key/value Linear modules of layer ``layer`` (1-based; -1 = last).

    After each forward of the model, :attr:`qkv` holds that layer's Q, K, V ``[batch, seq, hidden]``.
    With ``stop_after`` the forward stops (:class:`StopForward`) as soon as all three exist: the teacher
    needs nothing above its layer ``L``. Call :meth:`remove` (or use as a context manager) to detach.
    """

    def __init__(self, model: nn.Module, layer: int = -1, stop_after: bool = False):
        mods = attention_modules(model)
        if not mods:
            raise ValueError(
                f"{type(model).__name__} has no self-attention with query/key/value Linear layers"
            )
        if layer == -1:
            layer = len(mods)
        if not 1 <= layer <= len(mods):
            raise ValueError(f"layer {layer} is out of range: the model has {len(mods)} layers")
        self.layer = layer
        self.stop_after = stop_after
        self._out: dict[str, torch.Tensor] = {}
        attn = mods[layer - 1]
        self._handles = [
            getattr(attn, name).register_forward_hook(self._hook(name)) for name in ("query", "key", "value")
        ]

    def _hook(self, name: str):
        def hook(_module, _inputs, output):
            self._out[name] = output
            if self.stop_after and len(self._out) == 3:
                raise StopForward

        return hook

    def clear(self) -> None:
        self._out = {}

    @property
    def qkv(self) -> QKV:
        if len(self._out) != 3:
            raise RuntimeError("Q, K, V were not captured: run a forward pass first")
        return self._out["query"], self._out["key"], self._out["value"]

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> QKVCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def capture_qkv(model: nn.Module, capture: QKVCapture, **inputs) -> QKV:
    """Run ``model(**inputs)`` and return the captured Q, K, V (a stopped forward is the normal end)."""
    capture.clear()
    try:
        model(**inputs)
    except StopForward:
        pass
    return capture.qkv


def relation_log_probs(x: torch.Tensor, heads: int, key_mask: torch.Tensor) -> torch.Tensor:
    """``log softmax(X Xᵀ / sqrt(d_r))`` per relation head, in fp32: ``[batch, heads, seq, seq]``."""
    b, n, hidden = x.shape
    if hidden % heads:
        raise ValueError(f"{heads} relation heads do not divide the hidden size {hidden}")
    d = hidden // heads
    x = x.float().view(b, n, heads, d).transpose(1, 2)
    scores = torch.matmul(x, x.transpose(-1, -2)) / math.sqrt(d)
    scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
    return torch.log_softmax(scores, dim=-1)


def relation_kl(
    teacher: torch.Tensor, student: torch.Tensor, attention_mask: torch.Tensor, heads: int
) -> torch.Tensor:
    """KL(teacher ‖ student) of one relation (Q-Q, K-K or V-V), per head and real query token."""
    mask = attention_mask.bool()
    with torch.autocast(device_type=teacher.device.type, enabled=False):
        log_t = relation_log_probs(teacher, heads, mask)
        log_s = relation_log_probs(student, heads, mask)
        key_mask = mask[:, None, None, :]
        kl = torch.where(key_mask, log_t.exp() * (log_t - log_s), torch.zeros((), device=log_t.device)).sum(
            -1
        )
        query_mask = mask[:, None, :].float()
        return (kl * query_mask).sum() / (heads * query_mask.sum())


def relation_loss(
    teacher_qkv: Sequence[torch.Tensor],
    student_qkv: Sequence[torch.Tensor],
    attention_mask: torch.Tensor,
    heads: int,
) -> torch.Tensor:
    """MiniLMv2 loss: Q-Q + K-K + V-V relation KL; the two models may have different hidden sizes."""
    return sum(
        relation_kl(t, s, attention_mask, heads) for t, s in zip(teacher_qkv, student_qkv, strict=True)
    )


def compatible_heads(requested: int, *hidden_sizes: int) -> int:
    """``requested`` if it divides every hidden size, else the largest common divisor below it."""
    g = math.gcd(*hidden_sizes)
    if g % requested == 0:
        return requested
    return max(d for d in range(1, requested + 1) if g % d == 0)
