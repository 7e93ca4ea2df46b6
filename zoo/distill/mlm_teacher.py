"""The teacher's masked-token distribution, for distilling it into a student's masked-LM head.

A teacher with a complete MLM head (XLM-R: ``AutoModelForMaskedLM`` loads it with no missing weights) gives,
at the masked positions, logits over its whole vocabulary; the student predicts only the kept pieces, so the
teacher's logits are restricted to them (columns ``id_map``, in student-id order) and the softmax is taken
over those: the distribution renormalised over the kept vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TeacherLM:
    """The teacher's masked-LM logits at the selected positions, restricted to the kept pieces: fed student
    ids, it reads them as teacher ids through ``id_map`` (same positions, the mask token included)."""

    def __init__(self, teacher: nn.Module, id_map: list[int]):
        self.teacher = teacher
        self.id_map = torch.as_tensor(id_map, dtype=torch.long)
        heads = [m for n, m in teacher.named_children() if n != teacher.base_model_prefix]
        self.head = heads[0] if len(heads) == 1 else None  # else: the full forward, logits everywhere

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, selected: torch.Tensor):
        id_map = self.id_map.to(input_ids.device)
        t_ids = id_map[input_ids]
        if self.head is None:
            logits = self.teacher(input_ids=t_ids, attention_mask=attention_mask).logits[selected]
        else:
            out = self.teacher.base_model(input_ids=t_ids, attention_mask=attention_mask)
            logits = self.head(out.last_hidden_state[selected])
        return logits[:, id_map].float()


def restricted_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean over positions of KL(softmax(teacher) ‖ softmax(student)); both ``[positions, kept pieces]``."""
    s = torch.log_softmax(student_logits.float(), dim=-1)
    t = torch.log_softmax(teacher_logits.float(), dim=-1)
    return F.kl_div(s, t, log_target=True, reduction="batchmean")


def teacher_with_head(path: str) -> nn.Module | None:
    """The teacher as a frozen ``AutoModelForMaskedLM`` when its checkpoint has a complete MLM head, else
    None."""
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a teacher without a head is reported as missing weights: expected
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(
            path, output_loading_info=True, dtype=torch.float32
        )
    except ValueError:  # no masked-LM class for this model type
        return None
    finally:
        hf_logging.set_verbosity(verbosity)
    return None if info["missing_keys"] else model.eval().requires_grad_(False)
