"""The task-level check of the fast runtimes: does a fine-tuned head score the same through them?

``zoo bench`` admits a runtime only when its hidden states agree with the eager fp32 model's
(:func:`zoo.runtimes.check_agreement`); this check asks the question a user of the runtime cares about. After
a token-classification head (NER, POS) is fine-tuned, the score split is predicted again with the fine-tuned
encoder in each runtime (:func:`zoo.runtimes.prepare_runtime`: exported, quantised or cast), the classifier
applied in torch fp32 to the runtime's hidden states. The reference is the same path with the eager fp32
encoder (``eager``). The encoder gets its whole vocabulary back first (:func:`zoo.evaluation.task_vocab.
full_embeddings`), so an int8 graph quantises the same embedding table as the published model's.

Each runtime's entry in ``details.runtime_check`` (typed by :class:`zoo.results.record.RuntimeCheck`): its
scores, the difference to the reference in points of the main metric, whether that is within
:data:`TOLERANCE_POINTS`, and the agreement of its hidden states with the reference on the score split.
Exports go to the run's scratch directory. Sentence-classification and UD heads are not checked (their
heads are more than one linear layer over token states); the runner says so.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import UsageError, ZooError

TOLERANCE_POINTS = 0.5  # issue #16: an int8/bf16 student scores within 0.5 points of fp32
REFERENCE = "eager"  # eager fp32, the runtime every other one is compared with
FAMILIES = ("ner", "pos")  # task families whose heads the check supports
RUNTIMES = ("eager-bf16", "onnx-fp32", "onnx-int8", "onnx-fused-fp32", "onnx-fused-int8")
AUTO = "auto"


def parse_check_runtimes(text: str) -> list[str]:
    """``"onnx-int8,eager-bf16"`` or ``"auto"`` -> names (``eager``, the reference, is always run)."""
    from zoo.runtimes import parse_runtimes

    names = [t.strip() for t in text.split(",") if t.strip()]
    rest = parse_runtimes([n for n in names if n != AUTO]) if set(names) - {AUTO} else []
    bad = [n for n in rest if n not in (*RUNTIMES, REFERENCE)]
    if bad:
        raise UsageError(f"--runtime-check: {', '.join(bad)} cannot be checked", hint=_hint())
    if not names:
        raise UsageError("--runtime-check: no runtime given", hint=_hint())
    return ([AUTO] if AUTO in names else []) + [n for n in rest if n != REFERENCE]


def _hint() -> str:
    return f"runtimes: {', '.join(RUNTIMES)}, or auto (the fastest checked ones in the model's bench records)"


def resolve_runtimes(names: Sequence[str], lang: str, model_id: str, revision: str) -> list[str]:
    """``names`` with ``auto`` replaced by every runtime that is the fastest checked one at some batch size
    in the bench records of this model revision (:func:`zoo.bench.choice.best_rows`); eager itself is the
    reference and drops out. ``auto`` without such records is an error."""
    if AUTO not in names:
        return list(names)
    from zoo.bench.choice import best_rows
    from zoo.bench.record import load_bench_records

    mine = [r for r in load_bench_records(lang) if r.model.id == model_id and r.model.revision == revision]
    best = {row["runtime"] for row in best_rows(mine)}
    if not best:
        raise UsageError(
            f"--runtime-check auto: no bench record of {model_id} (revision {revision}) has a checked "
            "runtime",
            hint=f"run `zoo bench --lang {lang} --model {model_id}` first, or name the runtimes, e.g. "
            "--runtime-check onnx-int8,eager-bf16",
        )
    chosen = [n for n in RUNTIMES if n in best]
    return list(dict.fromkeys([*chosen, *(n for n in names if n != AUTO)]))


def token_classifier(net):
    """The linear classifier of a token-classification model whose head is ``dropout + classifier`` over
    the encoder's last hidden state (BERT, RoBERTa, XLM-R, DistilBERT); anything else is refused."""
    children = {name for name, _ in net.named_children()}
    if "classifier" not in children or children - {net.base_model_prefix, "dropout", "classifier"}:
        raise ZooError(
            f"the runtime check needs a head of dropout + linear classifier; {type(net).__name__} has "
            f"{sorted(children)}"
        )
    return net.classifier


def merge_agreements(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One :func:`zoo.runtimes.check_agreement` result from per-batch ones."""
    if not parts:
        return {"ok": False, "reason": "no sentences"}
    failed = next((p for p in parts if "reason" in p), None)
    if failed is not None:
        return {"ok": False, "reason": failed["reason"], "threshold": failed["threshold"]}
    n = sum(p["n_sentences"] for p in parts)
    return {
        "ok": all(p["ok"] for p in parts),
        "min_cosine": min(p["min_cosine"] for p in parts),
        "mean_cosine": sum(p["mean_cosine"] * p["n_sentences"] for p in parts) / n,
        "threshold": parts[0]["threshold"],
        "max_abs_diff": max(p["max_abs_diff"] for p in parts),
        "n_sentences": n,
    }


def check_runtimes(
    net,
    embeddings,
    runtimes: Sequence[str],
    inputs,
    collator,
    batch_size: int,
    score_rows: Callable[[list[np.ndarray]], dict[str, float]],
    main_metric: str,
    root: Path,
) -> dict[str, Any]:
    """Score ``inputs`` (tokenised windows, original token ids) with ``net``'s fine-tuned encoder in each of
    ``runtimes`` and in eager fp32, its classifier in torch fp32; ``embeddings`` is the encoder's whole
    input table, ``score_rows`` turns per-window logits into the task's scores. Exports go under ``root``."""
    import torch

    from zoo.evaluation.heads import map_length_batches
    from zoo.runtimes import (
        MIN_COSINE,
        TORCH_RUNTIMES,
        RuntimeUnavailable,
        TorchRuntime,
        check_agreement,
        prepare_runtime,
        runtime_dtype,
    )

    classifier = token_classifier(net)
    device = str(next(net.parameters()).device)
    threads = torch.get_num_threads()
    root.mkdir(parents=True, exist_ok=True)

    def encoder(on: str):
        enc = copy.deepcopy(net.base_model)
        enc.set_input_embeddings(copy.deepcopy(embeddings))
        enc.config.vocab_size = embeddings.num_embeddings
        return enc.to(device=on, dtype=torch.float32).eval()

    entries: dict[str, dict[str, Any]] = {}
    runners: dict[str, Any] = {REFERENCE: TorchRuntime(encoder(device), device)}
    seconds: dict[str, float] = {}
    for name in runtimes:
        on = device if name in TORCH_RUNTIMES else "cpu"  # ONNX Runtime on the CPU (int8 is CPU only)
        entries[name] = {"device": on, "dtype": runtime_dtype(name)}
        t0 = time.perf_counter()
        try:
            runners[name] = prepare_runtime(name, encoder(on), root, threads, device=on).runtime
        except RuntimeUnavailable as e:
            entries[name].update(status="unavailable", reason=str(e))
        seconds[name] = time.perf_counter() - t0
    checked = [n for n in runners if n != REFERENCE]
    agreements: dict[str, list[dict[str, Any]]] = {n: [] for n in checked}
    lengths = [len(ids) for ids in inputs["input_ids"]]

    def head(hidden: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return classifier(torch.from_numpy(hidden).to(device)).float().cpu().numpy()

    def run(idx: list[int]) -> list[dict[str, np.ndarray]]:
        batch = collator([inputs[i] for i in idx])
        types = batch.get("token_type_ids")
        if types is not None and bool(types.any()):
            raise ZooError("the runtime check feeds input_ids and attention_mask only; these inputs have "
                           "non-zero token_type_ids")
        arrays = {k: batch[k].numpy().astype(np.int64) for k in ("input_ids", "attention_mask")}
        hidden = {}
        for name, rt in runners.items():
            t0 = time.perf_counter()
            hidden[name] = rt.hidden(arrays)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        ref, mask = [hidden[REFERENCE]], [arrays["attention_mask"]]
        for name in checked:
            agreements[name].append(check_agreement(ref, [hidden[name]], mask, MIN_COSINE[name]))
        logits = {name: head(h) for name, h in hidden.items()}
        return [{name: lg[r, : lengths[i]] for name, lg in logits.items()} for r, i in enumerate(idx)]

    rows = map_length_batches(lengths, batch_size, run)
    reference = score_rows([r[REFERENCE] for r in rows])
    for name in checked:
        scores = score_rows([r[name] for r in rows])
        diff = round(scores[main_metric] - reference[main_metric], 6)
        entries[name].update(
            status="ok",
            scores=scores,
            diff_points=diff,
            within=abs(diff) <= TOLERANCE_POINTS,
            agreement=merge_agreements(agreements[name]),
        )
    for name in runtimes:
        entries[name]["time_s"] = round(seconds[name], 2)
    return {
        "reference": REFERENCE,
        "reference_scores": reference,
        "metric": main_metric,
        "tolerance_points": TOLERANCE_POINTS,
        "windows": len(rows),
        "runtimes": entries,
    }
