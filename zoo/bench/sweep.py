"""The batch-size sweep of one runtime: every batch size timed by the protocol
(:func:`zoo.bench.protocol.time_batches`: warm-up, >= ``min_batches`` timed batches, median and bootstrap 95%
interval), the best batch size, and the batch-1 latency window. Used for encoder runtimes
(:mod:`zoo.bench.measure`) and peer pipelines (:mod:`zoo.bench.peer`) alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from zoo.bench.config import BenchConfig
from zoo.bench.protocol import Timing, busy_note, median, time_batches


class Batches(Protocol):
    """What the sweep times: anything that hands out fixed batches of a size."""

    def batches(self, batch_size: int, n_max: int = 64) -> list[Any]: ...


def _point(t: Timing) -> dict[str, Any]:
    """One batch size's figures, as the record's ``details.sweep`` lists them."""
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
    inputs: Batches,
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


def sweep_scores(
    result: dict[str, Any], tokens_per_sentence: float, peak_mb: float | None, disk_mb: float
) -> tuple[dict[str, Any], list[str]]:
    """The scores of a finished :func:`sweep` (at its best batch size) and its busy-machine notes; every
    timed runtime, encoder or peer pipeline, reports these fields alike."""
    best, best_t, lat = result["best"], result["best_timing"], result["latency"].latency_ms()
    sps = best["sentences_per_s"]
    energy = best_t.energy_j / (best_t.n * best_t.batch_size) * 1000 if best_t.energy_j is not None else None
    scores = {
        "sentences_per_s": sps,
        "sentences_per_s_ci95": best["sentences_per_s_ci95"],
        "tokens_per_s": round(sps * tokens_per_sentence, 1),
        "best_batch_size": best["batch_size"],
        "latency_p50_ms": round(lat["p50"], 4),
        "latency_p95_ms": round(lat["p95"], 4),
        "peak_memory_mb": None if peak_mb is None else round(peak_mb, 1),
        "disk_mb": round(disk_mb, 2),
        "energy_j_per_1k_sentences": None if energy is None else round(energy, 3),
    }
    windows = ((f"batch-{best['batch_size']} window", best_t), ("batch-1 latency window", result["latency"]))
    notes = [n for what, t in windows if (n := busy_note(t.load, what))]
    return scores, notes
