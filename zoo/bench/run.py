"""``zoo bench`` as a function: models x runtimes on real sentences of a language, one bench record per pair.

:func:`run_bench` skips pairs whose record exists (unless ``force``), measures the matrix-multiply roofline
once, then per model :func:`zoo.bench.measure.prepare_model` and per runtime
:func:`zoo.bench.measure.bench_runtime` (a peer pipeline: :func:`zoo.bench.peer.bench_peer`), and writes a
:class:`zoo.bench.record.BenchRecord` for each pair, failed runtimes included. ``variant`` is the runtime;
``task`` is the setting (:meth:`zoo.bench.config.BenchConfig.task`). Every record of one invocation shares
``details.run_id``: speed ratios are only computed between records of the same run (same machine state).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zoo.bench.config import TASK_VERSION, BenchConfig, decide_spin, setup_threads
from zoo.bench.inputs import POOL_SIZE, bench_sentences
from zoo.bench.measure import bench_runtime, prepare_model
from zoo.bench.peer import RUNTIME as PEER_RUNTIME
from zoo.bench.peer import bench_peer, peer_config
from zoo.bench.protocol import release_memory
from zoo.bench.record import BenchRecord, find_bench_record
from zoo.bench.roofline import BF16, KINDS, measure_roofline
from zoo.errors import ZooError
from zoo.models import ModelRef
from zoo.registry import LanguageSpec
from zoo.results import RecordKey


@dataclass
class BenchSummary:
    """What one ``run_bench`` did."""

    run_id: str
    written: list[BenchRecord] = field(default_factory=list)
    skipped: list[BenchRecord] = field(default_factory=list)
    failed: list[BenchRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _bench_peer(
    spec: LanguageSpec,
    ref: ModelRef,
    sentences: list[str],
    cfg: BenchConfig,
    run_id: str,
    source: dict[str, Any],
    summary: BenchSummary,
    log: Callable[[str], None],
) -> None:
    """A peer pipeline (``spacy:<package>``): :func:`zoo.bench.peer.bench_peer`, errors into ``summary``."""
    try:
        summary.written.append(bench_peer(spec, ref, sentences, cfg, run_id, source, log))
    except ZooError as e:
        summary.errors.append(f"{ref.id}: {e}")
        log(f"  error: {e}")


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
            key = RecordKey("bench", spec.code, ref.id, revision, name_of_task, TASK_VERSION, variant=name)
            old = find_bench_record(key)
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
            cfg.threads,
            spin=cfg.spin,
            kinds=KINDS + ((BF16,) if "eager-bf16" in cfg.runtimes else ()),
            **({"m": 256, "min_runs": 3, "min_seconds": 0.2} if cfg.quick else {}),
        )
        log(
            f"  fp32 torch {roofline['fp32_gflops_torch']} GFLOP/s, "
            f"fp32 ORT {roofline['fp32_gflops_ort']} GFLOP/s,"
            f" int8 ORT {roofline['int8_gops_ort']} GOP/s"
            + (f", bf16 torch {roofline[BF16]} GFLOP/s" if BF16 in roofline else "")
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
            record = BenchRecord.build(
                spec.code,
                ref.info(ctx.params),
                task,
                scores,
                variant=name,
                details=details,
                wall_time_s=round(time.perf_counter() - t0, 2),
            )
            record.save()
            (summary.written if record.measured else summary.failed).append(record)
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
