"""The benchmark sweep: models x runtimes on real sentences of a language, one results record per pair.

For each model: tokenise a fixed, shuffled pool of corpus sentences to exactly ``seq_len`` tokens (sentences
with at least that many tokens first, truncated; shorter ones padded only when too few are long enough);
compute the eager fp32 model's outputs on held-out sentences of natural lengths (the agreement reference);
export what the ONNX runtimes need; then per runtime: build it, check agreement (a failing runtime is
recorded as failed and not timed), sweep batch sizes (warm-up, >= ``min_batches`` timed batches each,
median and bootstrap 95% interval), take the best batch size's throughput and batch-1 latency (p50/p95),
peak memory, size on disk and energy; tokenisation is timed on its own.

Records (``zoo.results``, ``kind="bench"``): ``variant`` is the runtime; ``task`` is
``{"name": "speed-L<seq_len>-<device>[-t<threads>]", "family": "speed", "version": 1, "seq_len", "device",
"threads", "dtype"}`` -- the setting is in the name so that runs at other lengths, devices or thread counts
get their own record instead of colliding (``--quick`` runs are ``speed-quick-...`` so they never stand in
for a full protocol run). Every record of one invocation shares ``details.run_id``: speed ratios are only
computed between records of the same run (same machine state).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench import energy as energy_mod
from zoo.bench.protocol import (
    PeakMemory,
    Timing,
    busy_note,
    load_fields,
    median,
    n_cpus,
    probe_load,
    release_memory,
    time_batches,
)
from zoo.bench.roofline import encoder_ops_per_token, measure_roofline, roofline_for, roofline_key
from zoo.bench.runtimes import (
    MIN_COSINE,
    RuntimeUnavailable,
    TorchRuntime,
    check_agreement,
    export_onnx,
    export_root,
    files_mb,
    prepare_runtime,
    quantize_int8,
)
from zoo.errors import UsageError, ZooError
from zoo.models import (
    CONSTANT_BASELINE_ID,
    SHAPE_BASELINES,
    ModelRef,
    count_parameters,
    default_models,
    model_from_arg,
    shape_baseline_ref,
    student_dir,
    student_id,
    student_ref,
    teacher_ref,
)
from zoo.registry import SIZES, LanguageSpec
from zoo.results import find_record, make_record, save_record

TASK_VERSION = 1
SHUFFLE_SEED = 0
POOL_SIZE = 1024  # distinct sentences the timed batches cycle through
CHECK_SENTENCES = 64  # held-out sentences of natural lengths for the agreement check
CHECK_BATCH = 16
XS_SHAPE_VOCAB = 15_000  # a pruned monolingual vocabulary of the size TiME Zoo's xs students get
XLMR_LARGE = "shape/xlm-roberta-large"
SHAPE_NOTE = "shape baseline: random weights, same architecture; speed rows only (no task scores)"


@dataclass
class BenchConfig:
    """How to benchmark (the protocol's knobs)."""

    runtimes: tuple[str, ...] = ("eager", "onnx-fp32", "onnx-int8")
    seq_len: int = 32
    batch_sizes: tuple[int, ...] = (1, 8, 32, 128)
    threads: int = field(default_factory=n_cpus)
    device: str = "cpu"
    dtype: str = "fp32"
    warmup: int = 3
    min_batches: int = 30
    min_seconds: float = 2.0  # and at least this long per window (load meters count 10 ms ticks)
    point_budget_s: float = 120.0  # skip a batch size whose >= min_batches would take longer than this
    quick: bool = False
    tdp_watts: float | None = None
    roofline: bool = True
    spin: bool | None = None  # worker threads spin-wait between ops; None = decide from the load at start
    thread_policy: dict[str, Any] | None = None  # what decide_spin() decided (set before torch loads)

    @classmethod
    def quick_preset(cls, **kw) -> BenchConfig:
        """A fast smoke run: few batches, small sweep (recorded as ``speed-quick``; not the full protocol)."""
        base = {
            "batch_sizes": (1, 8),
            "warmup": 1,
            "min_batches": 5,
            "min_seconds": 0.3,
            "point_budget_s": 20.0,
            "quick": True,
        }
        return cls(**{**base, **kw})

    def protocol(self) -> dict[str, Any]:
        """The timing protocol as every bench record states it."""
        return {
            "warmup_batches": self.warmup,
            "min_timed_batches": self.min_batches,
            "statistic": "median over batches",
            "interval": "percentile bootstrap, 2000 resamples, seed 0",
            "quick": self.quick,
            "point_budget_s": self.point_budget_s,
        }

    def task(self) -> dict[str, Any]:
        """The ``task`` of this setting's records."""
        dev = self.device.split(":")[0]
        name = f"speed{'-quick' if self.quick else ''}-L{self.seq_len}-{dev}"
        name += f"-t{self.threads}" if dev == "cpu" else ""
        name += f"-{self.dtype}" if self.dtype != "fp32" else ""
        return {
            "name": name,
            "family": "speed",
            "version": TASK_VERSION,
            "seq_len": self.seq_len,
            "device": dev,
            "threads": self.threads,
            "dtype": self.dtype,
        }

    def validate(self) -> None:
        if self.seq_len < 4 or self.seq_len > 4096:
            raise UsageError(
                f"--seq-len {self.seq_len} is out of range", hint="use 4..4096 tokens, e.g. 32 or 128"
            )
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise UsageError("--batch-sizes must be positive integers, e.g. 1,8,32,128")
        if self.threads < 1:
            raise UsageError("--threads must be at least 1")
        if self.min_batches < 1 or self.warmup < 0:
            raise UsageError("--min-batches must be >= 1 and --warmup >= 0")
        if self.dtype not in ("fp32", "fp16", "bf16"):
            raise UsageError(f"unknown --dtype '{self.dtype}'", hint="fp32, fp16 or bf16")


# --------------------------------------------------------------------------------------------------
# which models


def xs_shape_ref(tokenizer: str, vocab_size: int = XS_SHAPE_VOCAB) -> ModelRef:
    """A randomly initialised student of size xs with a pruned-size vocabulary (speed only)."""
    s = SIZES["xs"]
    cfg = {
        "num_hidden_layers": s.layers,
        "hidden_size": s.hidden,
        "num_attention_heads": s.heads,
        "intermediate_size": s.ffn,
        "vocab_size": vocab_size,
    }
    return ModelRef(
        id=f"shape/time-xs-v{vocab_size // 1000}k",
        role="shape-baseline",
        size="xs",
        tokenizer=tokenizer,
        config=cfg,
    )


def bench_models(spec: LanguageSpec, model_args: Sequence[str] | None = None) -> list[ModelRef]:
    """The models to time.

    Default: the language's distilled students, the teacher, an xs-shaped random student when no xs student
    exists, and the shape baselines (XLM-R base/large, mBERT). ``model_args`` may name ``teacher``,
    ``students``, a student id (``time-xh-xs``), a size (``xs``), ``shape/<name>`` (one of
    :data:`zoo.models.SHAPE_BASELINES` or ``time-xs``), a checkpoint directory or a Hub id. The constant
    baseline has no weights: it is never timed, and naming it (``constant``) is an error.
    """
    teacher: ModelRef | None = None

    def get_teacher() -> ModelRef:
        nonlocal teacher
        teacher = teacher or teacher_ref(spec)
        return teacher

    if not model_args:
        refs = [r for r in default_models(spec, with_random=False) if r.role == "student"]
        if not (student_dir(spec.code, "xs") / "config.json").is_file():
            refs.append(xs_shape_ref(get_teacher().path))
        refs.append(get_teacher())
        refs += [shape_baseline_ref(n, get_teacher().path) for n in SHAPE_BASELINES]
        return refs
    refs = []
    for arg in model_args:
        if arg == CONSTANT_BASELINE_ID:
            raise UsageError("the constant baseline has no weights to time",
                             hint="it is evaluated only: zoo eval --model constant")
        if arg == "teacher":
            refs.append(get_teacher())
        elif arg == "students":
            refs += [r for r in default_models(spec, with_random=False) if r.role == "student"]
        elif arg in spec.sizes or arg in (student_id(spec.code, s) for s in spec.sizes):
            refs.append(student_ref(spec, arg.rsplit("-", 1)[-1]))
        elif arg.startswith("shape/") or arg in SHAPE_BASELINES:
            name = arg.removeprefix("shape/")
            refs.append(
                xs_shape_ref(get_teacher().path)
                if name.startswith("time-xs")
                else shape_baseline_ref(name, get_teacher().path)
            )
        else:
            refs.append(model_from_arg(arg))
    unique: dict[str, ModelRef] = {}
    for r in refs:
        unique.setdefault(r.id, r)
    return list(unique.values())


# --------------------------------------------------------------------------------------------------
# inputs


def bench_sentences(
    spec: LanguageSpec, limit: int = 16 * POOL_SIZE, seed: int = SHUFFLE_SEED
) -> tuple[list[str], dict[str, Any]]:
    """Real corpus lines of the language, shuffled with a fixed seed (at most ``limit``), and where from."""
    from zoo.data.corpus import corpus_files
    from zoo.data.readers import read_corpus

    files, _ = corpus_files(spec)  # local files, else the language's Hub corpora
    texts = read_corpus(files)["text"]
    order = np.random.default_rng(seed).permutation(len(texts))[:limit]
    return [texts[i] for i in order], {
        "files": [str(p) for p in files],
        "lines": len(texts),
        "shuffle_seed": seed,
    }


@dataclass
class BenchInputs:
    """Token ids of the timed pool (exactly ``seq_len`` wide) and of the agreement-check batches."""

    ids: np.ndarray
    mask: np.ndarray
    texts: list[str]
    check: list[dict[str, np.ndarray]]
    info: dict[str, Any]

    def batches(self, batch_size: int, n_max: int = 64) -> list[dict[str, np.ndarray]]:
        """Up to ``n_max`` distinct batches of ``batch_size`` consecutive pool rows (wrapping around)."""
        n = len(self.ids)
        count = max(1, min(n_max, n // batch_size))
        out = []
        for i in range(count):
            rows = np.arange(i * batch_size, (i + 1) * batch_size) % n
            out.append(
                {
                    "input_ids": np.ascontiguousarray(self.ids[rows]),
                    "attention_mask": np.ascontiguousarray(self.mask[rows]),
                }
            )
        return out

    def text_batches(self, batch_size: int, n_max: int = 64) -> list[list[str]]:
        n = len(self.texts)
        count = max(1, min(n_max, n // batch_size))
        return [
            [self.texts[j % n] for j in range(i * batch_size, (i + 1) * batch_size)] for i in range(count)
        ]


def _fold(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, int]:
    """Map ids beyond a (random-weight) model's vocabulary into it; returns the ids and how many moved."""
    over = ids >= vocab_size
    return np.where(over, ids % vocab_size, ids), int(over.sum())


def make_inputs(
    tokenizer, texts: list[str], seq_len: int, vocab_size: int, pool_size: int = POOL_SIZE
) -> BenchInputs:
    """Tokenise ``texts``: the timed pool (full-length sentences first) and the check batches."""
    check_texts = texts[-CHECK_SENTENCES:]
    candidates = texts[:-CHECK_SENTENCES] if len(texts) > 2 * CHECK_SENTENCES else texts
    enc = tokenizer(
        candidates, truncation=True, max_length=seq_len, padding="max_length", return_tensors="np"
    )
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    if ids.shape[1] != seq_len:
        raise ZooError(f"tokenizer returned width {ids.shape[1]} instead of {seq_len}")
    full = mask.sum(1) == seq_len
    order = np.concatenate([np.flatnonzero(full), np.flatnonzero(~full)])[:pool_size]
    ids, mask = ids[order], mask[order]
    ids, folded = _fold(ids, vocab_size)
    check = []
    for i in range(0, len(check_texts), CHECK_BATCH):
        e = tokenizer(
            check_texts[i : i + CHECK_BATCH],
            truncation=True,
            max_length=seq_len,
            padding=True,
            return_tensors="np",
        )
        c_ids, f = _fold(e["input_ids"].astype(np.int64), vocab_size)
        folded += f
        check.append({"input_ids": c_ids, "attention_mask": e["attention_mask"].astype(np.int64)})
    info = {
        "pool_sentences": len(order),
        "full_length_fraction": round(float(full[order].mean()), 4),
        "real_tokens_per_sentence": round(float(mask.sum(1).mean()), 2),
        "check_sentences": len(check_texts),
        "ids_folded_into_vocab": folded,
    }
    return BenchInputs(ids=ids, mask=mask, texts=[candidates[i] for i in order], check=check, info=info)


# --------------------------------------------------------------------------------------------------
# one runtime


def _point(t: Timing, budget_skip: str | None = None) -> dict[str, Any]:
    tp = t.throughput()
    lat = t.latency_ms()
    return {
        "batch_size": t.batch_size,
        "sentences_per_s": round(tp["median"], 3),
        "sentences_per_s_ci95": [round(x, 3) for x in tp["ci95"]],
        "n_batches": t.n,
        "warmup": t.warmup,
        "latency_p50_ms": round(lat["p50"], 4),
        "latency_p95_ms": round(lat["p95"], 4),
        "energy_j": None if t.energy_j is None else round(t.energy_j, 4),
        "load": t.load.as_dict(),
    }


def sweep(
    run: Callable,
    inputs: BenchInputs,
    cfg: BenchConfig,
    sync=None,
    meter=None,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Time every batch size (skipping those over the time budget); return the points, the best one and
    the batch-1 latency window. (No early stop when throughput falls: on a machine whose load drifts, a
    slower point says more about the load than about the batch size.)

    The cost of a point is estimated first from the previous point (time per sentence x batch size), then
    from a pilot batch (after one untimed batch of the new shape); a point over ``cfg.point_budget_s``
    is skipped (the smallest is always timed)."""
    points, timings, skipped = [], {}, []
    per_sentence = None  # seconds per sentence at the previous point
    for b in sorted(set(cfg.batch_sizes)):
        batches = inputs.batches(b)
        est = None if per_sentence is None else per_sentence * b * (cfg.min_batches + cfg.warmup)
        if est is None or est <= cfg.point_budget_s:
            run(batches[0])  # a new shape may compile or allocate: not part of the estimate
            t0 = time.perf_counter()
            run(batches[0])  # a pilot batch (also warms up) to estimate the cost of this point
            if sync:
                sync()
            est = (time.perf_counter() - t0) * (cfg.min_batches + cfg.warmup)
        if est > cfg.point_budget_s and points:
            skipped.append(
                {"batch_size": b, "reason": f"estimated {est:.0f} s > budget {cfg.point_budget_s:.0f} s"}
            )
            log(f"    batch {b}: skipped (estimated {est:.0f} s > budget)")
            continue
        t = time_batches(
            run,
            batches,
            b,
            warmup=cfg.warmup,
            min_batches=cfg.min_batches,
            min_seconds=cfg.min_seconds,
            sync=sync,
            energy=meter,
        )
        timings[b] = t
        per_sentence = median(t.times_s) / b
        p = _point(t)
        points.append(p)
        log(
            f"    batch {b}: {p['sentences_per_s']:.1f} sent/s "
            f"[{p['sentences_per_s_ci95'][0]:.1f}, {p['sentences_per_s_ci95'][1]:.1f}] "
            f"({t.n} batches, other processes used {t.load.foreign_cpus} CPUs)"
        )
    if 1 not in timings:  # latency is always measured at batch 1
        timings[1] = time_batches(
            run,
            inputs.batches(1),
            1,
            warmup=cfg.warmup,
            min_batches=cfg.min_batches,
            min_seconds=cfg.min_seconds,
            sync=sync,
            energy=meter,
        )
        points.insert(0, {**_point(timings[1]), "latency_only": True})
    best = max((p for p in points if not p.get("latency_only")), key=lambda p: p["sentences_per_s"])
    return {
        "points": points,
        "skipped": skipped,
        "best": best,
        "best_timing": timings[best["batch_size"]],
        "latency": timings[1],
    }


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
    from zoo.bench.runtimes import set_sdpa

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
    if need_export:
        model = model.cpu()
        t0 = time.perf_counter()
        path = export_onnx(model, root)
        if "onnx-int8" in need_export:
            quantize_int8(path, root)
        log(f"  ONNX export ready in {time.perf_counter() - t0:.1f} s ({root})")
    weights_mb, weights_what = _weights_on_disk(ref, params)
    del model, eager
    release_memory()
    return ModelContext(ref, inputs, reference, params, config, tokenisation, root, weights_mb, weights_what)


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
        "dtype": "int8" if name == "onnx-int8" else ("fp32" if name.startswith("onnx") else cfg.dtype),
        "seq_len": cfg.seq_len,
    }
    if ctx.ref.role == "shape-baseline":
        details["label"] = SHAPE_NOTE
    mem = PeakMemory(cfg.device)
    mem.start()
    try:
        model = ctx.ref.load_model(seed=0) if name in ("eager", "compile") else None
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
    best, best_t, lat = result["best"], result["best_timing"], result["latency"].latency_ms()
    sps = best["sentences_per_s"]
    real_tokens = ctx.inputs.info["real_tokens_per_sentence"]
    energy_per_1k = None
    if best_t.energy_j is not None:
        energy_per_1k = best_t.energy_j / (best_t.n * best_t.batch_size) * 1000
    scores = {
        "sentences_per_s": sps,
        "sentences_per_s_ci95": best["sentences_per_s_ci95"],
        "tokens_per_s": round(sps * real_tokens, 1),
        "best_batch_size": best["batch_size"],
        "latency_p50_ms": round(lat["p50"], 4),
        "latency_p95_ms": round(lat["p95"], 4),
        "peak_memory_mb": None if peak is None else round(peak, 1),
        "disk_mb": round(files_mb(prepared.files) if prepared.files else ctx.weights_mb, 2),
        "energy_j_per_1k_sentences": None if energy_per_1k is None else round(energy_per_1k, 3),
    }
    windows = [p["load"] for p in result["points"]]
    notes = [
        n
        for what, t in (
            (f"batch-{best['batch_size']} window", best_t),
            ("batch-1 latency window", result["latency"]),
        )
        if (n := busy_note(t.load, what))
    ]
    ops = encoder_ops_per_token(ctx.config, cfg.seq_len) * cfg.seq_len  # padded positions are computed too
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
            "achieved_gops": round(sps * ops / 1e9, 2),
            "roofline_gops": peak_rate,
            "roofline_after_sweep": local_roof,
            "roofline_fraction": round(sps * ops / 1e9 / peak_rate, 4) if peak_rate else None,
            "protocol": cfg.protocol(),
        }
    )
    del rt, prepared
    release_memory()
    return scores, details


# --------------------------------------------------------------------------------------------------
# the whole run



@dataclass
class BenchSummary:
    """What one ``run_bench`` did."""

    run_id: str
    written: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _bench_peer(spec: LanguageSpec, ref: ModelRef, sentences: list[str], cfg: BenchConfig, run_id: str,
                source: dict[str, Any], summary: BenchSummary, log: Callable[[str], None]) -> None:
    """A peer pipeline (``spacy:<package>``): :func:`zoo.bench.peer.bench_peer`, errors into ``summary``."""
    from zoo.bench.peer import bench_peer

    try:
        summary.written.append(bench_peer(spec, ref, sentences, cfg, run_id, source, log))
    except ZooError as e:
        summary.errors.append(f"{ref.id}: {e}")
        log(f"  error: {e}")


def decide_spin(spin: bool | None, device: str = "cpu") -> dict[str, Any]:
    """Whether worker threads may spin-wait, and why (a dict for the records); sets
    ``OMP_WAIT_POLICY=PASSIVE`` when they may not.

    Spinning worker threads are fastest on an idle machine but collapse when other processes compete
    for the cores (a 2-layer model took 420 ms instead of 5 ms per batch with OpenMP's active wait on a
    busy 2-CPU machine). With ``spin`` None a one-second probe decides: no spinning when the machine is
    busy. OpenMP reads ``OMP_WAIT_POLICY`` once, when torch loads: call this before importing torch
    (``omp_policy_effective`` records whether that was so). ONNX Runtime gets it per session.
    """
    import sys

    torch_loaded = "torch" in sys.modules
    decided = "given"
    if spin is None and not device.startswith("cuda"):
        probe = probe_load(1.0)
        spin = not probe.busy
        decided = f"auto: other processes used {probe.foreign_cpus or 0:.2f} of {probe.cpus} CPUs at start"
    elif spin is None:
        spin, decided = True, "auto: GPU run"
    if not spin:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return {
        "spin": spin,
        "decided": decided,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY") or "default (active spin, then sleep)",
        "omp_policy_effective": spin or not torch_loaded,
        "ort_allow_spinning": spin,
    }


def setup_threads(threads: int) -> None:
    """Fix torch's thread count (ONNX Runtime gets it per session)."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def run_bench(
    spec: LanguageSpec,
    refs: Sequence[ModelRef],
    cfg: BenchConfig,
    force: bool = False,
    log: Callable[[str], None] = lambda s: None,
) -> BenchSummary:
    """Benchmark ``refs`` x ``cfg.runtimes`` on the language's sentences; one record per pair (existing
    records are skipped unless ``force``). A peer pipeline (role ``peer``) gets its one runtime,
    :data:`zoo.bench.peer.RUNTIME`, timed by :mod:`zoo.bench.peer`."""
    from zoo.bench.peer import RUNTIME as PEER_RUNTIME
    from zoo.bench.peer import peer_config

    cfg.validate()
    if cfg.thread_policy is None:
        cfg.thread_policy = decide_spin(cfg.spin, cfg.device)
    cfg.spin = cfg.thread_policy["spin"]
    setup_threads(cfg.threads)
    run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"
    summary = BenchSummary(run_id=run_id)
    task = cfg.task()
    todo: list[tuple[ModelRef, list[str]]] = []
    for ref in refs:
        revision = ref.revision()
        missing = []
        name_of_task = peer_config(cfg).task()["name"] if ref.role == "peer" else task["name"]
        for name in (PEER_RUNTIME,) if ref.role == "peer" else cfg.runtimes:
            old = find_record("bench", spec.code, ref.id, revision, name_of_task, TASK_VERSION, variant=name)
            if old is not None and not force:
                summary.skipped.append(old)
            else:
                missing.append(name)
        if missing:
            todo.append((ref, missing))
    if not todo:
        return summary
    sentences, source = bench_sentences(spec, limit=(4 if cfg.quick else 16) * POOL_SIZE)
    roofline = None
    if cfg.roofline and not cfg.device.startswith("cuda") and any(r.role != "peer" for r, _ in todo):
        log("measuring the matrix-multiply roofline")
        roofline = measure_roofline(
            cfg.threads, spin=cfg.spin, **({"m": 256, "min_runs": 3, "min_seconds": 0.2} if cfg.quick else {})
        )
        log(
            f"  fp32 torch {roofline['fp32_gflops_torch']} GFLOP/s, "
            f"fp32 ORT {roofline['fp32_gflops_ort']} GFLOP/s,"
            f" int8 ORT {roofline['int8_gops_ort']} GOP/s"
        )
    for ref, names in todo:
        log(f"{ref.id} ({ref.role}): {', '.join(names)}")
        start = time.perf_counter()
        if ref.role == "peer":  # a pipeline of another library: zoo.bench.peer
            _bench_peer(spec, ref, sentences, cfg, run_id, source, summary, log)
            continue
        try:
            ctx = prepare_model(ref, sentences, cfg, [n for n in names if n.startswith("onnx")], log)
        except ZooError as e:
            summary.errors.append(f"{ref.id}: {e}")
            log(f"  error: {e}")
            continue
        for name in names:
            t0 = time.perf_counter()
            try:
                scores, details = bench_runtime(ctx, name, cfg, roofline, run_id, log)
            except ZooError as e:
                scores, details = (
                    {},
                    {
                        "status": "failed",
                        "reason": str(e),
                        "runtime": name,
                        "run_id": run_id,
                        "device": cfg.device,
                        "threads": cfg.threads,
                    },
                )
            details["inputs"] = {**source, **ctx.inputs.info}
            details["roofline"] = roofline
            details["thread_policy"] = cfg.thread_policy
            record = make_record(
                "bench",
                spec.code,
                ref.info(ctx.params),
                task,
                scores,
                variant=name,
                details=details,
                wall_time_s=round(time.perf_counter() - t0, 2),
            )
            save_record(record, force=True)
            (summary.written if scores else summary.failed).append(record)
            if scores:
                log(
                    f"  {name}: {scores['sentences_per_s']:.1f} sentences/s "
                    f"at batch {scores['best_batch_size']}, "
                    f"p50 {scores['latency_p50_ms']:.2f} ms{' (machine busy)' if details.get('busy') else ''}"
                )
        log(f"  {ref.id} done in {time.perf_counter() - start:.0f} s")
        del ctx
        release_memory()
    return summary
