"""The lm-eval model type ``time-mlm``: any masked LM, scored by pseudo-log-likelihood (:mod:`.pll`).

``loglikelihood((context, continuation))`` is the PLL-word-l2r of the continuation's tokens given the whole
text; ``loglikelihood_rolling`` the PLL of the whole text; generation is not something a masked LM does, so
``generate_until`` raises. Importing this module registers the type with lm-eval; ``python -m zoo.harness``
is lm-eval's own command line with it registered::

    python -m zoo.harness --model time-mlm --model_args pretrained=DIR_OR_HUB_ID --tasks zoo_afrixnli_xh \
        --include_path TASKS_DIR
"""

from __future__ import annotations

from typing import Any

import torch
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from tqdm import tqdm

from zoo.errors import UsageError
from zoo.harness.pll import PLLScorer

MODEL_TYPE = "time-mlm"
SCORING = ("masked-LM pseudo-log-likelihood, PLL-word-l2r (Salazar et al. 2020; Kauf & Ivanova 2023): each "
           "token masked with the later pieces of its word")


def load_masked_lm(pretrained: str, revision: str | None = None, dtype: str | None = None):
    """``AutoModelForMaskedLM`` from a directory or Hub id; a UsageError when the checkpoint has no MLM head
    (transformers would silently add a random one, and every score would be noise)."""
    from transformers import AutoModelForMaskedLM

    kwargs: dict[str, Any] = {"output_loading_info": True}
    if revision:
        kwargs["revision"] = revision
    if dtype and dtype != "auto":
        kwargs["dtype"] = getattr(torch, dtype)
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(pretrained, **kwargs)
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot load {pretrained} as a masked LM: {str(e).splitlines()[0]}") from None
    prefix = model.base_model_prefix + "."
    head_missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(prefix))
    if head_missing:
        raise UsageError(
            f"{pretrained} has no masked-LM head (missing {', '.join(head_missing[:3])}"
            f"{', ...' if len(head_missing) > 3 else ''})",
            hint=f"{MODEL_TYPE} scores with the MLM head; give it a checkpoint saved with one",
        )
    return model


@register_model(MODEL_TYPE)
class TimeMLM(LM):
    """lm-eval's ``LM`` for masked LMs. ``pretrained``: a directory, a Hub id or a loaded model (then pass
    ``tokenizer``); ``max_tokens``: padded tokens per forward pass (every masked copy of every request is
    batched by this budget; lm-eval's ``batch_size`` is accepted and not used)."""

    def __init__(self, pretrained: Any = None, tokenizer: Any = None, revision: str | None = None,
                 dtype: str | None = None, max_tokens: int = 8192, max_length: int | None = None,
                 device: str | None = None, batch_size: Any = None, max_batch_size: Any = None,
                 **unused: Any) -> None:
        super().__init__()
        from transformers import AutoTokenizer

        if pretrained is None:
            raise UsageError(f"{MODEL_TYPE} needs model_args pretrained=<directory or Hub id>")
        model = load_masked_lm(pretrained, revision, dtype) if isinstance(pretrained, str) else pretrained
        if tokenizer is None or isinstance(tokenizer, str):
            source = tokenizer or (pretrained if isinstance(pretrained, str) else model.name_or_path)
            tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
        self.scorer = PLLScorer(model, tokenizer, max_tokens=int(max_tokens),
                                max_length=int(max_length) if max_length else None, device=device)
        self._device = self.scorer.device

    @property
    def model(self):
        """The masked LM being scored."""
        return self.scorer.model

    def loglikelihood(self, requests, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """PLL of each request's continuation given the whole text, and whether it is the greedy choice."""
        items = [self.scorer.encode(*r.args) for r in requests]
        out = self._score(items, disable_tqdm)
        for r, result in zip(requests, out, strict=True):
            self.cache_hook.add_partial("loglikelihood", r.args, result)
        return out

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        """PLL of each whole text (in windows of ``max_length`` tokens when longer)."""
        windows = [self.scorer.encode_rolling(r.args[0]) for r in requests]
        flat = [w for ws in windows for w in ws]
        scores = iter(s for s, _ in self._score(flat, disable_tqdm))
        out = [sum(next(scores) for _ in ws) for ws in windows]
        for r, result in zip(requests, out, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", r.args, result)
        return out

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        raise UsageError(
            f"model type {MODEL_TYPE} scores text with a masked LM and cannot generate",
            hint="use multiple-choice or log-likelihood tasks, or a causal LM (--model hf) for generation",
        )

    def _score(self, items, disable_tqdm: bool) -> list[tuple[float, bool]]:
        """Score in chunks of requests, longest first, so that the progress bar moves."""
        order = sorted(range(len(items)), key=lambda i: -len(items[i].ids))
        out: list[tuple[float, bool] | None] = [None] * len(items)
        step = 64
        bar = tqdm(total=len(items), disable=disable_tqdm or self.rank != 0, desc=f"{MODEL_TYPE} PLL")
        for k in range(0, len(order), step):
            chunk = order[k:k + step]
            for i, result in zip(chunk, self.scorer.score([items[i] for i in chunk]), strict=True):
                out[i] = result
            bar.update(len(chunk))
        bar.close()
        return out  # type: ignore[return-value]
