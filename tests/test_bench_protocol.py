"""The timing protocol: median, bootstrap interval, the timing loop, the foreign-load and memory meters."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from zoo.bench import protocol
from zoo.bench.protocol import (
    CpuLoadMonitor,
    LoadSample,
    PeakMemory,
    bootstrap_ci,
    median,
    percentile,
    read_proc_stat,
    time_batches,
)


def test_median_and_percentiles_on_known_input():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4, 1, 3, 2]) == 2.5
    assert percentile(list(range(101)), 50) == 50.0
    assert percentile(list(range(101)), 95) == 95.0
    with pytest.raises(ValueError):
        median([])


def test_bootstrap_ci_of_the_median():
    # constant data: the interval collapses onto the value
    assert bootstrap_ci([7.0] * 40) == (7.0, 7.0)
    # 0..100: the median is 50; the order-statistic 95% interval of a median of n=101 spans ranks
    # 50 +- 1.96 * sqrt(101) / 2 ~ 40..60, and the percentile bootstrap lands close to it
    values = list(range(101))
    lo, hi = bootstrap_ci(values)
    assert 37 <= lo <= 46 and 54 <= hi <= 63, (lo, hi)
    assert lo < median(values) < hi
    assert bootstrap_ci(values) == (lo, hi)  # seeded: reproducible
    # a wider spread gives a wider interval
    lo2, hi2 = bootstrap_ci([v * 10 for v in values])
    assert hi2 - lo2 == pytest.approx(10 * (hi - lo))


def test_time_batches_counts_warmup_and_timed_batches():
    calls = []

    def run(batch):
        calls.append(batch)
        time.sleep(0.002)

    t = time_batches(run, ["a", "b", "c"], batch_size=4, warmup=2, min_batches=30)
    assert t.n == 30 and len(calls) == 32
    assert calls[:3] == ["a", "b", "a"]  # warm-up cycles through the batches, timing goes on cycling
    assert all(x >= 0.002 for x in t.times_s)
    tp = t.throughput()
    assert tp["ci95"][0] <= tp["median"] <= tp["ci95"][1]
    assert tp["median"] == pytest.approx(4 / median(t.times_s), rel=0.05)
    assert t.latency_ms()["p50"] >= 2.0
    # min_seconds keeps timing past min_batches
    t2 = time_batches(run, ["a"], batch_size=1, warmup=0, min_batches=2, min_seconds=0.1)
    assert t2.n >= 20


def test_read_proc_stat_parses_the_cpu_line(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 5 50 1000 10 3 2 7 0 0\ncpu0 50 2 25 500 5 1 1 3 0 0\n")
    tick = os.sysconf("SC_CLK_TCK")
    got = read_proc_stat(stat)
    assert got == {"busy": (100 + 5 + 50 + 3 + 2) / tick, "steal": 7 / tick}
    stat.write_text("garbage\n")
    assert read_proc_stat(stat) is None
    assert read_proc_stat(tmp_path / "missing") is None


def test_load_sample_busy_rule():
    assert LoadSample(wall_s=1.0, own_cpu_s=0.5, foreign_cpu_s=0.5, steal_s=0, cpus=2).busy is True
    assert LoadSample(wall_s=1.0, own_cpu_s=0.5, foreign_cpu_s=0.1, steal_s=0, cpus=2).busy is False
    short = LoadSample(wall_s=0.01, own_cpu_s=0.0, foreign_cpu_s=0.02, steal_s=0, cpus=2)
    assert short.busy is None  # too short for 10 ms ticks
    assert short.foreign_cpus == 2.0  # clamped to the machine
    assert LoadSample(wall_s=1.0, own_cpu_s=0.5, foreign_cpu_s=None, steal_s=None, cpus=2).busy is None
    note = protocol.busy_note(LoadSample(wall_s=1.0, own_cpu_s=0.5, foreign_cpu_s=1.0, steal_s=0, cpus=2))
    assert "1.00 of 2 CPUs" in note


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="needs Linux /proc/stat")
def test_cpu_monitor_sees_another_process_burning_cpu():
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    mon = CpuLoadMonitor()
    mon.start()
    subprocess.run([sys.executable, "-c", burn], check=True, timeout=120)
    sample = mon.stop()
    # the child's 0.4 s of CPU (plus its interpreter start-up) is foreign to us; ticks are 10 ms
    assert sample.foreign_cpu_s >= 0.35, sample
    assert sample.own_cpu_s < 0.2


def test_peak_memory_sees_a_temporary_allocation():
    mem = PeakMemory("cpu")
    mem.start()
    a = np.ones(100 * 2**20 // 8)  # 100 MiB, touched
    del a
    peak = mem.stop()
    if mem.method == "rss-peak-delta":
        assert 90 <= peak <= 200, peak
    else:  # without the peak reset only the end state is seen
        assert peak is not None
