"""``zoo bench`` of a peer pipeline (``spacy:<package>``): runtime ``spacy``, the encoders' protocol.

Text: the sentences the encoders read, in the same order (:func:`zoo.bench.inputs.make_inputs` with the
language's teacher tokenizer: the same shuffled corpus lines, full-length ones first), each cut after the
characters of its first ``seq_len`` tokens, so the pipeline reads the very text the encoders read (the
students tokenise the corpus like their teacher). Timed: ``nlp.pipe(texts, batch_size=b)`` — spaCy's
tokenizer and the components the UD evaluation runs (:func:`zoo.peers.spacy_pipeline.load_pipeline`) —
by :func:`zoo.bench.sweep.sweep`: warm-up, >= ``min_batches`` timed batches per batch size, median and
bootstrap 95% interval, batch-1 latency p50/p95.

``tokens_per_s`` counts the unit of the encoder rows: the teacher tokenizer's tokens of those spans
(special tokens included); ``spacy_tokens_per_s`` counts spaCy's own tokens. spaCy's CPU pipelines run on
the CPU whatever ``--device`` says, and take no thread count: ``details.threads`` is the setting of the
run (its record sits beside the encoders'), ``details.own_cpus`` the CPUs the process kept busy, measured.
There is no other runtime of a pipeline to check against, so ``details.agreement`` says it is its own
reference.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from zoo.bench import energy as energy_mod
from zoo.bench.config import BenchConfig
from zoo.bench.inputs import make_inputs
from zoo.bench.protocol import PeakMemory, load_fields, release_memory
from zoo.bench.record import BenchRecord
from zoo.bench.sweep import sweep, sweep_scores
from zoo.models import ModelRef, teacher_ref
from zoo.peers.spacy_pipeline import (
    check_language,
    load_pipeline,
    package_files,
    pipeline_details,
    pipeline_params,
)
from zoo.registry import LanguageSpec
from zoo.runtimes import files_mb

RUNTIME = "spacy"


class TextPool:
    """Texts in fixed batches, the ``inputs`` :func:`zoo.bench.sweep.sweep` asks for ``batches(b)``."""

    def __init__(self, texts: list[str]):
        self.texts = texts

    def batches(self, batch_size: int, n_max: int = 64) -> list[list[str]]:
        """Up to ``n_max`` distinct batches of ``batch_size`` consecutive texts (wrapping around)."""
        n = len(self.texts)
        count = max(1, min(n_max, n // batch_size))
        return [
            [self.texts[j % n] for j in range(i * batch_size, (i + 1) * batch_size)] for i in range(count)
        ]


def peer_config(cfg: BenchConfig) -> BenchConfig:
    """The setting a peer pipeline is timed in: ``cfg`` on the CPU in fp32 (spaCy's CPU pipelines)."""
    return dataclasses.replace(cfg, device="cpu", dtype="fp32")


def encoder_spans(spec: LanguageSpec, sentences: list[str], seq_len: int) -> tuple[list[str], dict[str, Any]]:
    """The encoders' timed pool as text: each sentence cut after its first ``seq_len`` teacher tokens."""
    teacher = teacher_ref(spec)
    tokenizer = teacher.load_tokenizer()
    inputs = make_inputs(tokenizer, sentences, seq_len, len(tokenizer))
    enc = tokenizer(inputs.texts, truncation=True, max_length=seq_len, return_offsets_mapping=True)
    spans = [
        text[: max((end for _, end in offsets), default=0)].strip()
        for text, offsets in zip(inputs.texts, enc["offset_mapping"], strict=True)
    ]
    info = {k: v for k, v in inputs.info.items() if k not in ("check_sentences", "ids_folded_into_vocab")}
    return spans, {
        **info,
        "span_tokenizer": teacher.id,
        "text": f"each sentence cut after its first {seq_len} tokens of the span tokenizer",
    }


def bench_peer(
    spec: LanguageSpec,
    ref: ModelRef,
    sentences: list[str],
    cfg: BenchConfig,
    run_id: str,
    source: dict[str, Any],
    log: Callable[[str], None] = lambda s: None,
) -> BenchRecord:
    """Time the pipeline of ``ref`` on the language's sentences; writes and returns its bench record."""
    check_language(ref, spec.code)
    t_start = time.perf_counter()
    cfg = peer_config(cfg)
    texts, info = encoder_spans(spec, sentences, cfg.seq_len)
    mem = PeakMemory("cpu")
    mem.start()
    nlp = load_pipeline(ref)
    params = pipeline_params(nlp)
    spacy_tokens = sum(len(nlp.make_doc(t)) for t in texts) / len(texts)

    def run(batch: list[str]) -> None:
        for _ in nlp.pipe(batch, batch_size=len(batch)):
            pass

    meter = energy_mod.make_meter("cpu", cfg.tdp_watts)
    measured = meter if meter.method != "not measured" else None
    result = sweep(run, TextPool(texts), cfg, meter=measured, log=log)
    peak = mem.stop()
    scores, notes = sweep_scores(result, info["real_tokens_per_sentence"], peak, files_mb(package_files(ref)))
    scores["spacy_tokens_per_s"] = round(scores["sentences_per_s"] * spacy_tokens, 1)
    best_t = result["best_timing"]
    windows = [p["load"] for p in result["points"]]
    details = {
        "status": "ok",
        "runtime": RUNTIME,
        "device": "cpu",
        "threads": cfg.threads,
        "own_cpus": round(best_t.load.own_cpu_s / best_t.load.wall_s, 2) if best_t.load.wall_s else None,
        "run_id": run_id,
        "dtype": "fp32",
        "seq_len": cfg.seq_len,
        **pipeline_details(ref, nlp),
        "agreement": {"ok": True, "reference": "the pipeline itself (spaCy runs it one way only)"},
        "tokens_unit": f"tokens_per_s: {info['span_tokenizer']} tokens of the timed spans, as the encoder "
        "rows count; spacy_tokens_per_s: spaCy tokens",
        "spacy_tokens_per_sentence": round(spacy_tokens, 2),
        "energy_method": meter.method,
        "energy_note": getattr(meter, "reason", None) if meter.method == "not measured" else None,
        **load_fields(windows, notes),
        "sweep": result["points"],
        "sweep_skipped": result["skipped"],
        "memory_method": mem.method,
        "disk": "installed package files",
        "protocol": cfg.protocol(),
        "inputs": {**source, **info},
        "thread_policy": cfg.thread_policy,
    }
    record = BenchRecord.build(
        spec.code,
        ref.info(params),
        cfg.task(),
        scores,
        variant=RUNTIME,
        details=details,
        wall_time_s=round(time.perf_counter() - t_start, 2),
    )
    record.save()
    log(
        f"  {RUNTIME}: {scores['sentences_per_s']:.1f} sentences/s at batch {scores['best_batch_size']}, "
        f"p50 {scores['latency_p50_ms']:.2f} ms"
        f"{' (machine busy)' if details['busy'] else ''}"
    )
    release_memory()
    return record
