"""The timing protocol (after spaCy's ``benchmark speed``) and meters that watch the machine while it runs.

- :func:`time_batches`: warm-up batches, then at least ``min_batches`` timed batches (one
  ``perf_counter`` interval each), while a :class:`CpuLoadMonitor` measures how much CPU *other*
  processes used in the same window.
- :func:`median` and :func:`bootstrap_ci`: the statistic reported and its percentile-bootstrap 95% interval.
- :class:`PeakMemory`: resident-memory delta (Linux ``VmHWM`` reset through ``/proc/self/clear_refs``) or
  ``torch.cuda.max_memory_allocated`` on a GPU.

Foreign load = CPU time of all processes (``/proc/stat``: user, nice, system, irq, softirq) minus this
process's own CPU time (``psutil``), divided by the wall time of the window: the number of CPUs that
others kept busy while we were timing. A window is *busy* when that exceeds :data:`BUSY_FRACTION` of the
machine's CPUs; its numbers are then slower than on an idle machine and the record says so. ``/proc/stat``
counts in 10 ms ticks, so windows shorter than :data:`MIN_LOAD_WINDOW_S` are not judged (busy = None); the
protocol's ``min_seconds`` keeps timed windows longer than that.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BUSY_FRACTION = 0.10  # a window is "busy" when other processes used more than 10% of all CPUs
MIN_LOAD_WINDOW_S = 0.2  # /proc/stat counts in 10 ms ticks: shorter windows cannot be judged
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def median(values: Sequence[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    if len(values) == 0:
        raise ValueError("median of no values")
    return float(np.median(np.asarray(values, dtype=float)))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation, as numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[np.ndarray], Any] = np.median,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``stat`` (default: the median) of ``values``; seeded."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap of no values")
    if x.size == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    samples = np.asarray(stat(x[idx], axis=1), dtype=float)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha])
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------------
# foreign CPU load


def read_proc_stat(path: str | os.PathLike = "/proc/stat") -> dict[str, float] | None:
    """Machine-wide CPU seconds from ``/proc/stat``: ``busy`` (user+nice+system+irq+softirq) and ``steal``."""
    try:
        with open(path, encoding="ascii") as f:
            first = f.readline().split()
    except OSError:
        return None
    if not first or first[0] != "cpu" or len(first) < 8:
        return None
    v = [int(x) for x in first[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = v[:7]
    steal = v[7] if len(v) > 7 else 0
    return {"busy": (user + nice + system + irq + softirq) / _CLK_TCK, "steal": steal / _CLK_TCK}


def own_cpu_seconds() -> float:
    """CPU time (user + system, all threads) of this process."""
    try:
        import psutil

        t = psutil.Process().cpu_times()
        return float(t.user + t.system)
    except ImportError:  # psutil is a dependency; os.times() is the fallback
        t = os.times()
        return float(t.user + t.system)


def n_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass
class LoadSample:
    """CPU use during one timed window."""

    wall_s: float
    own_cpu_s: float
    foreign_cpu_s: float | None  # None when /proc/stat is unreadable
    steal_s: float | None
    cpus: int

    @property
    def foreign_cpus(self) -> float | None:
        """Average number of CPUs other processes kept busy."""
        if self.foreign_cpu_s is None or self.wall_s <= 0:
            return None
        return min(float(self.cpus), self.foreign_cpu_s / self.wall_s)  # tick rounding can overshoot

    @property
    def busy(self) -> bool | None:
        """True when other processes used more than :data:`BUSY_FRACTION` of the CPUs."""
        f = self.foreign_cpus
        if f is None or self.wall_s < MIN_LOAD_WINDOW_S:
            return None
        return f > BUSY_FRACTION * self.cpus

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["foreign_cpus"] = None if self.foreign_cpus is None else round(self.foreign_cpus, 3)
        d["busy"] = self.busy
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


class CpuLoadMonitor:
    """Measures own and foreign CPU time between :meth:`start` and :meth:`stop`."""

    def __init__(self, stat_path: str | os.PathLike = "/proc/stat"):
        self.stat_path = stat_path

    def start(self) -> None:
        self._stat0 = read_proc_stat(self.stat_path)
        self._own0 = own_cpu_seconds()
        self._t0 = time.perf_counter()

    def stop(self) -> LoadSample:
        wall = time.perf_counter() - self._t0
        own = own_cpu_seconds() - self._own0
        stat1 = read_proc_stat(self.stat_path)
        foreign = steal = None
        if self._stat0 is not None and stat1 is not None:
            # /proc/stat ticks are coarse (10 ms): clamp small negative differences to zero
            foreign = max(0.0, stat1["busy"] - self._stat0["busy"] - own)
            steal = max(0.0, stat1["steal"] - self._stat0["steal"])
        return LoadSample(wall_s=wall, own_cpu_s=own, foreign_cpu_s=foreign, steal_s=steal, cpus=n_cpus())


def probe_load(seconds: float = 1.0) -> LoadSample:
    """Foreign CPU load over ``seconds`` while this process sleeps."""
    monitor = CpuLoadMonitor()
    monitor.start()
    time.sleep(seconds)
    return monitor.stop()


def load_fields(windows: list[dict[str, Any]], notes: list[str]) -> dict[str, Any]:
    """The load part of a bench record's details: was any timed window busy, why, and the threshold."""
    return {
        "busy": any(w.get("busy") for w in windows),
        "busy_notes": list(dict.fromkeys(notes)),
        "busy_threshold": f"other processes > {BUSY_FRACTION:.0%} of {windows[0]['cpus']} CPUs",
        "max_foreign_cpus": max((w.get("foreign_cpus") or 0.0) for w in windows),
    }


def busy_note(sample: LoadSample, what: str = "timed window") -> str | None:
    """A sentence for the record when the machine was busy during a window, else None."""
    if not sample.busy:
        return None
    pct = 100 * sample.foreign_cpus / sample.cpus
    return (
        f"machine busy during the {what}: other processes used {sample.foreign_cpus:.2f} of "
        f"{sample.cpus} CPUs ({pct:.0f}%); figures are lower than on an idle machine"
    )


# --------------------------------------------------------------------------------------------------
# the timing loop


@dataclass
class Timing:
    """Per-batch wall times of one timed window and the load measured during it."""

    batch_size: int
    times_s: list[float]
    warmup: int
    load: LoadSample
    energy_j: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.times_s)

    def throughput(self) -> dict[str, Any]:
        """Median items/s over batches and its bootstrap 95% interval."""
        per_batch = [self.batch_size / t for t in self.times_s]
        lo, hi = bootstrap_ci(per_batch)
        return {"median": median(per_batch), "ci95": [lo, hi]}

    def latency_ms(self) -> dict[str, float]:
        """p50 and p95 of the per-batch times, in milliseconds."""
        ms = [1000 * t for t in self.times_s]
        return {"p50": percentile(ms, 50), "p95": percentile(ms, 95)}


def time_batches(
    run: Callable[[Any], Any],
    batches: Sequence[Any],
    batch_size: int,
    warmup: int = 3,
    min_batches: int = 30,
    min_seconds: float = 0.0,
    sync: Callable[[], None] | None = None,
    energy=None,
) -> Timing:
    """Run ``warmup`` untimed batches, then time batches (cycling through ``batches``) until at least
    ``min_batches`` were timed and ``min_seconds`` passed. ``sync`` (e.g. ``torch.cuda.synchronize``) is
    called inside each timed interval; ``energy`` is an optional meter with ``start()``/``stop()``."""
    if not batches:
        raise ValueError("no batches to time")
    for i in range(warmup):
        run(batches[i % len(batches)])
    if sync:
        sync()
    monitor = CpuLoadMonitor()
    times: list[float] = []
    if energy is not None:
        energy.start()
    monitor.start()
    t_start = time.perf_counter()
    i = 0
    while len(times) < min_batches or time.perf_counter() - t_start < min_seconds:
        batch = batches[i % len(batches)]
        t0 = time.perf_counter()
        run(batch)
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
        i += 1
    load = monitor.stop()
    joules = energy.stop() if energy is not None else None
    return Timing(batch_size=batch_size, times_s=times, warmup=warmup, load=load, energy_j=joules)


# --------------------------------------------------------------------------------------------------
# memory


def _status_kb(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    m = re.search(rf"^{field_name}:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) if m else None


def release_memory() -> None:
    """Collect garbage and return freed heap to the OS (glibc ``malloc_trim``), so RSS deltas are fair."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory of what happens between :meth:`start` and :meth:`stop`, in MiB.

    CPU: peak resident set (``VmHWM``, reset via ``/proc/self/clear_refs``) minus the RSS at start
    (method ``rss-peak-delta``); where the reset is not allowed, RSS at stop minus RSS at start
    (``rss-delta``). CUDA: ``torch.cuda.max_memory_allocated`` (``cuda-max-allocated``).
    """

    def __init__(self, device: str = "cpu"):
        self.device = device

    def start(self) -> None:
        release_memory()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            self.method = "cuda-max-allocated"
            return
        self._base = _status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.method = "rss-peak-delta"
        except OSError:
            self.method = "rss-delta"

    def stop(self) -> float | None:
        if self.device.startswith("cuda"):
            import torch

            return (torch.cuda.max_memory_allocated() - self._base) / 2**20
        if self._base is None:
            return None
        end = _status_kb("VmHWM" if self.method == "rss-peak-delta" else "VmRSS")
        return None if end is None else max(0.0, (end - self._base) / 1024)
