"""The optional hidden-state term of the distillation loss (preset field ``hidden_loss_weight``).

MiniLMv2's relation loss reaches only the last layer's Q/K/V, so that layer's attention output and FFN (the
blocks ``last_hidden_state`` passes through) would stay at their initialisation. This term adds
``weight x MSE(student last hidden state [x W], teacher layer L output)``: squared differences summed over
real tokens (padding masked) and hidden units, divided by (real tokens x teacher hidden size), in fp32.

When the widths differ, ``W`` is a learned linear map (student width -> teacher width, with bias) attached to
the student as the submodule :data:`MAP_NAME` while it trains: it is in the optimiser, in DDP's gradient
reduction and in the run's checkpoints (so a resumed run keeps it), but it is **not saved with the
published student** (:func:`without_map`): it serves the loss only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from zoo.distill.relation_loss import StopForward, layer_modules

MAP_NAME = "hidden_map"


class LayerOutputCapture:
    """A forward hook on transformer layer ``layer`` (1-based) of ``model``: :attr:`hidden` holds that layer's
    output hidden state ``[batch, seq, hidden]`` after a forward; with ``stop_after`` the forward stops
    (:class:`~zoo.distill.relation_loss.StopForward`) right after it, so a Q/K/V capture of the same layer
    must not stop (``stop_after=False``)."""

    def __init__(self, model: nn.Module, layer: int, stop_after: bool = False):
        layers = layer_modules(model)
        if not 1 <= layer <= len(layers):
            raise ValueError(f"layer {layer} is out of range: the model has {len(layers)} layers")
        self.stop_after = stop_after
        self.hidden: torch.Tensor | None = None
        self._handle = layers[layer - 1].register_forward_hook(self._hook)

    def _hook(self, _module, _inputs, output):
        self.hidden = output[0] if isinstance(output, (tuple, list)) else output
        if self.stop_after:
            raise StopForward

    def remove(self) -> None:
        self._handle.remove()


def attach_map(student: nn.Module, teacher_hidden: int, seed: int) -> nn.Linear | None:
    """Attach (and return) the learned map when the student's width differs from ``teacher_hidden``; None at
    equal widths (the MSE compares the hidden states directly)."""
    width = student.config.hidden_size
    if width == teacher_hidden:
        return None
    g = torch.Generator().manual_seed(seed)
    linear = nn.Linear(width, teacher_hidden)
    with torch.no_grad():
        linear.weight.normal_(0.0, width**-0.5, generator=g)
        linear.bias.zero_()
    student.add_module(MAP_NAME, linear)
    return linear


def hidden_mse(
    student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor, map_: nn.Module | None
) -> torch.Tensor:
    """Masked MSE per real token and hidden unit, in fp32 (the map, if any, applied to the student)."""
    with torch.autocast(device_type=student.device.type, enabled=False):
        s = student.float()
        if map_ is not None:
            s = torch.nn.functional.linear(s, map_.weight.float(), map_.bias.float())
        mask = attention_mask.to(s.dtype).unsqueeze(-1)
        sq = (s - teacher.float()).pow(2) * mask
        return sq.sum() / (mask.sum() * teacher.shape[-1])


def map_description(student_hidden: int, teacher_hidden: int) -> str:
    """How the student's hidden state meets the teacher's (for ``distillation.json``)."""
    if student_hidden == teacher_hidden:
        return "none (equal widths)"
    return (
        f"learned linear {student_hidden} -> {teacher_hidden} with bias, trained with the student, not saved"
    )


@contextmanager
def without_map(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with the map detached (to save the published student), attached again afterwards."""
    linear = model._modules.pop(MAP_NAME, None)
    try:
        yield model
    finally:
        if linear is not None:
            model.add_module(MAP_NAME, linear)
