"""Energy meters: Intel/AMD RAPL counters, NVIDIA's NVML total-energy counter, or an estimate named as one.

Every meter has ``method`` (what goes into a record's ``details.energy_method``), ``start()`` and
``stop() -> joules | None``. Methods are ``"rapl"`` and ``"nvml"`` (measurements), ``"estimate: <how>"``
(never presented as a measurement) and ``"not measured"`` (``stop()`` returns None; ``reason`` says why).

RAPL counts the whole CPU package, including other processes' work: on a shared machine the measured
energy is an upper bound for ours (the record's busy notes say how much else ran).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from zoo.bench.protocol import n_cpus, own_cpu_seconds

NOT_MEASURED = "not measured"


class NullMeter:
    """No energy counter available: records ``"not measured"``."""

    method = NOT_MEASURED

    def __init__(self, reason: str):
        self.reason = reason

    def start(self) -> None:
        pass

    def stop(self) -> float | None:
        return None


@dataclass
class RaplZone:
    """One top-level RAPL zone (a CPU package)."""

    name: str
    energy_file: Path
    max_range_uj: int

    def read_uj(self) -> int:
        return int(self.energy_file.read_text(encoding="ascii").strip())


def rapl_delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Energy between two readings of a counter that wraps to zero after ``max_range_uj``."""
    return end - start if end >= start else end + (max_range_uj - start)


class RaplMeter:
    """Sum of the package-level RAPL counters under ``/sys/class/powercap`` (sub-zones not added twice)."""

    method = "rapl"

    def __init__(self, root: str | os.PathLike = "/sys/class/powercap"):
        self.root = Path(root)
        self.zones: list[RaplZone] = []
        self.reason: str | None = None
        self._discover()

    @property
    def available(self) -> bool:
        return not self.reason and bool(self.zones)

    def _discover(self) -> None:
        if not self.root.is_dir():
            self.reason = f"no RAPL interface ({self.root} does not exist)"
            return
        # top-level zones are intel-rapl:N (packages); intel-rapl:N:M are parts of them
        for d in sorted(self.root.glob("intel-rapl:*")):
            if d.name.count(":") != 1 or not (d / "energy_uj").exists():
                continue
            try:
                max_range = int((d / "max_energy_range_uj").read_text(encoding="ascii").strip())
                zone = RaplZone(
                    name=(d / "name").read_text(encoding="ascii").strip()
                    if (d / "name").exists()
                    else d.name,
                    energy_file=d / "energy_uj",
                    max_range_uj=max_range,
                )
                zone.read_uj()
            except PermissionError:
                self.reason = (
                    f"RAPL counters are not readable ({d / 'energy_uj'}: permission denied; needs root)"
                )
                self.zones = []
                return
            except (OSError, ValueError) as e:
                self.reason = f"RAPL counter {d} unreadable: {e}"
                self.zones = []
                return
            self.zones.append(zone)
        if not self.zones:
            self.reason = f"no RAPL package zones under {self.root}"

    def start(self) -> None:
        self._start = [z.read_uj() for z in self.zones]

    def stop(self) -> float | None:
        try:
            end = [z.read_uj() for z in self.zones]
        except OSError:
            return None
        pairs = zip(self._start, end, self.zones, strict=True)
        total = sum(rapl_delta_uj(s, e, z.max_range_uj) for s, e, z in pairs)
        return total / 1e6


class NvmlMeter:
    """NVML's total-energy counter of one GPU (Volta and newer), in millijoules since driver load."""

    method = "nvml"

    def __init__(self, index: int = 0):
        self.reason: str | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except ImportError:
            self.reason = "pynvml is not installed (pip install nvidia-ml-py)"
        except Exception as e:  # NVMLError_NotSupported etc.
            self.reason = f"NVML energy counter unavailable: {e}"

    @property
    def available(self) -> bool:
        return self.reason is None

    def start(self) -> None:
        self._start = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)

    def stop(self) -> float | None:
        end = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        return (end - self._start) / 1e3


class TdpEstimate:
    """An ESTIMATE: the CPU's rated power (TDP, watts, given by the user) × this process's share of the CPUs.

    joules = watts × own CPU seconds / CPUs. It ignores idle power, memory and the real power curve.
    """

    def __init__(self, watts: float):
        if watts <= 0:
            raise ValueError("TDP watts must be positive")
        self.watts = watts
        self.cpus = n_cpus()
        self.method = f"estimate: {watts:g} W TDP x own CPU-time share of {self.cpus} CPUs"
        self.reason = None

    def start(self) -> None:
        self._cpu0 = own_cpu_seconds()

    def stop(self) -> float | None:
        return self.watts * (own_cpu_seconds() - self._cpu0) / self.cpus


def make_meter(
    device: str = "cpu", tdp_watts: float | None = None, rapl_root: str | os.PathLike = "/sys/class/powercap"
):
    """The best meter for ``device``: NVML on CUDA, RAPL on CPU; else a labelled TDP estimate when
    ``tdp_watts`` is given; else a :class:`NullMeter` whose ``reason`` names what was missing."""
    reasons = []
    if device.startswith("cuda"):
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        nvml = NvmlMeter(index)
        if nvml.available:
            return nvml
        reasons.append(nvml.reason)
    else:
        rapl = RaplMeter(rapl_root)
        if rapl.available:
            return rapl
        reasons.append(rapl.reason)
    if tdp_watts and not device.startswith("cuda"):
        return TdpEstimate(tdp_watts)
    return NullMeter("; ".join(r for r in reasons if r))
