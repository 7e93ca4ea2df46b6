"""One model, every runtime: tokenise its inputs, load it, compute the eager fp32 reference, export what the
ONNX runtimes need (:func:`prepare_model`); then per runtime build it, check agreement (a failing runtime is
recorded as failed and not timed), sweep batch sizes, and gather throughput at the best batch size, batch-1
latency (p50/p95), peak memory, size on disk, energy and the roofline fraction (:func:`bench_runtime`).
Tokenisation is timed on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench import energy as energy_mod
from zoo.bench.config import BenchConfig
from zoo.bench.inputs import BenchInputs, make_inputs
from zoo.bench.protocol import PeakMemory, load_fields, release_memory, time_batches
from zoo.bench.roofline import encoder_ops_per_token, measure_roofline, roofline_for, roofline_key
from zoo.bench.sweep import sweep, sweep_scores
from zoo.errors import UsageError
from zoo.models import ModelRef, count_parameters
from zoo.onnx_export import export_onnx, export_root, quantize_int8, set_sdpa
from zoo.onnx_fused import FusionFailed, export_fused, quantize_fused
from zoo.runtimes import (
    MIN_COSINE,
    TORCH_RUNTIMES,
    RuntimeUnavailable,
    TorchRuntime,
    check_agreement,
    files_mb,
    prepare_runtime,
    runtime_dtype,
)

SHAPE_NOTE = "shape baseline: random weights, same architecture; speed rows only (no task scores)"


@dataclass
class ModelContext:
    """What every runtime of one model shares."""

    ref: ModelRef
    inputs: BenchInputs
    reference: list[np.ndarray]
    params: dict[str, int]
    config: Any
    tokenisation: dict[str, Any]
    export_root: Path
    weights_mb: float
    weights_what: str
    export_errors: dict[str, str] = field(default_factory=dict)  # runtime -> why its export failed


def _weights_on_disk(ref: ModelRef, params: dict[str, int]) -> tuple[float, str]:
    if ref.path and Path(ref.path).is_dir():
        files = [p for p in Path(ref.path).iterdir() if p.suffix in (".safetensors", ".bin")]
        if files:
            return files_mb(files), "weight files (" + ", ".join(sorted(p.name for p in files)) + ")"
    return params["total"] * 4 / 2**20, "fp32 parameters x 4 bytes (random weights, not saved)"


def prepare_model(
    ref: ModelRef,
    sentences: list[str],
    cfg: BenchConfig,
    need_export: Sequence[str],
    log: Callable[[str], None] = lambda s: None,
) -> ModelContext:
    """Tokenise, load the eager fp32 model, compute the agreement reference, export what runtimes need."""
    tokenizer = ref.load_tokenizer()
    config = ref.load_config()
    max_pos = getattr(config, "max_position_embeddings", None)
    if max_pos and cfg.seq_len > max_pos - 2:
        raise UsageError(f"--seq-len {cfg.seq_len} exceeds {ref.id}'s {max_pos} positions")
    inputs = make_inputs(tokenizer, sentences, cfg.seq_len, config.vocab_size)
    # tokenisation alone, at the largest batch size of the sweep
    tb = max(cfg.batch_sizes)
    tok_t = time_batches(
        lambda texts: tokenizer(
            texts, truncation=True, max_length=cfg.seq_len, padding="max_length", return_tensors="np"
        ),
        inputs.text_batches(tb),
        tb,
        warmup=cfg.warmup,
        min_batches=cfg.min_batches,
        min_seconds=cfg.min_seconds,
    )
    tp = tok_t.throughput()
    tokenisation = {
        "batch_size": tb,
        "sentences_per_s": round(tp["median"], 2),
        "sentences_per_s_ci95": [round(x, 2) for x in tp["ci95"]],
        "n_batches": tok_t.n,
        "tokenizer": type(tokenizer).__name__,
        "load": tok_t.load.as_dict(),
    }
    log(f"  tokenisation: {tp['median']:.0f} sentences/s (batch {tb})")
    model = ref.load_model(seed=0)
    set_sdpa(model)
    model.eval()
    params = count_parameters(model)
    eager = TorchRuntime(model, cfg.device, "fp32")
    reference = [eager.hidden(b) for b in inputs.check]
    root = export_root(ref.id, ref.revision(), ref.config, seed=0)
    export_errors: dict[str, str] = {}
    if need_export:
        model = model.cpu()
        t0 = time.perf_counter()
        if {"onnx-fp32", "onnx-int8"} & set(need_export):
            path = export_onnx(model, root)
            if "onnx-int8" in need_export:
                quantize_int8(path, root)
        fused = [n for n in need_export if n.startswith("onnx-fused")]
        if fused:
            try:
                path = export_fused(model, root)
                if "onnx-fused-int8" in fused:
                    quantize_fused(path, root)
            except FusionFailed as e:
                export_errors = dict.fromkeys(fused, str(e))
                log(f"  fused ONNX export failed: {e}")
        log(f"  ONNX export ready in {time.perf_counter() - t0:.1f} s ({root})")
    weights_mb, weights_what = _weights_on_disk(ref, params)
    del model, eager
    release_memory()
    return ModelContext(
        ref, inputs, reference, params, config, tokenisation, root, weights_mb, weights_what, export_errors
    )


def bench_runtime(
    ctx: ModelContext,
    name: str,
    cfg: BenchConfig,
    roofline: dict | None,
    run_id: str,
    log: Callable[[str], None] = lambda s: None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build, check and time one runtime. Returns ``(scores, details)``; ``scores`` is empty on failure."""
    details: dict[str, Any] = {
        "status": "ok",
        "runtime": name,
        "device": cfg.device,
        "threads": cfg.threads,
        "run_id": run_id,
        "dtype": runtime_dtype(name, cfg.dtype),
        "seq_len": cfg.seq_len,
    }
    if ctx.ref.role == "shape-baseline":
        details["label"] = SHAPE_NOTE
    mem = PeakMemory(cfg.device)
    mem.start()
    if name in ctx.export_errors:
        details.update(status="failed", reason=ctx.export_errors[name])
        return {}, details
    try:
        model = ctx.ref.load_model(seed=0) if name in TORCH_RUNTIMES else None
        prepared = prepare_runtime(
            name, model, ctx.export_root, cfg.threads, cfg.device, cfg.dtype, spin=cfg.spin is not False
        )
    except RuntimeUnavailable as e:
        details.update(status="failed", reason=str(e))
        return {}, details
    rt = prepared.runtime
    if prepared.export:
        details["export"] = prepared.export
    # agreement with the eager fp32 model BEFORE any timing
    threshold = MIN_COSINE.get(rt.name)
    if threshold is not None:
        try:
            got = [rt.hidden(b) for b in ctx.inputs.check]
            agreement = check_agreement(
                ctx.reference, got, [b["attention_mask"] for b in ctx.inputs.check], threshold
            )
        except Exception as e:  # noqa: BLE001 - a runtime that cannot run the check fails it
            agreement = {"ok": False, "reason": f"{type(e).__name__}: {e}", "threshold": threshold}
    else:
        agreement = {"ok": True, "reference": "this is the eager fp32 reference"}
    details["agreement"] = agreement
    if not agreement["ok"]:
        details.update(status="failed", reason="outputs disagree with the eager model; not timed")
        log(f"  {name}: FAILED agreement check ({agreement.get('min_cosine') or agreement.get('reason')})")
        return {}, details
    meter = energy_mod.make_meter(cfg.device, cfg.tdp_watts)
    result = sweep(
        rt, ctx.inputs, cfg, sync=rt.sync, meter=meter if meter.method != "not measured" else None, log=log
    )
    peak = mem.stop()
    memory_method = mem.method
    if cfg.device.startswith("cuda") and name.startswith("onnx"):  # ORT's CUDA arena is not torch's
        peak, memory_method = None, "not measured (ONNX Runtime CUDA allocator)"
    disk = files_mb(prepared.files) if prepared.files else ctx.weights_mb
    scores, notes = sweep_scores(result, ctx.inputs.info["real_tokens_per_sentence"], peak, disk)
    windows = [p["load"] for p in result["points"]]
    ops = encoder_ops_per_token(ctx.config, cfg.seq_len) * cfg.seq_len  # padded positions are computed too
    gops = scores["sentences_per_s"] * ops / 1e9
    local_roof = None
    if roofline is not None:  # the peak again right after this runtime's sweep: the load drifts
        local_roof = measure_roofline(
            cfg.threads,
            spin=cfg.spin is not False,
            kinds=(roofline_key(name),),
            **({"m": 256, "min_runs": 3, "min_seconds": 0.2} if cfg.quick else {"min_seconds": 1.0}),
        )
    peak_rate = roofline_for(name, roofline, local_roof)
    details.update(
        {
            "energy_method": meter.method,
            "energy_note": getattr(meter, "reason", None)
            if meter.method == "not measured"
            else (
                "RAPL counts the whole CPU package, other processes included"
                if meter.method == "rapl"
                else None
            ),
            **load_fields(windows, notes),
            "sweep": result["points"],
            "sweep_skipped": result["skipped"],
            "tokenisation": ctx.tokenisation,
            "memory_method": memory_method,
            "disk": "exported files" if prepared.files else ctx.weights_what,
            "ops_per_sentence": ops,
            "achieved_gops": round(gops, 2),
            "roofline_gops": peak_rate,
            "roofline_after_sweep": local_roof,
            "roofline_fraction": round(gops / peak_rate, 4) if peak_rate else None,
            "protocol": cfg.protocol(),
        }
    )
    del rt, prepared
    release_memory()
    return scores, details
