"""Energy meters: RAPL (a sysfs tree in the kernel's format, wrap-around), 'not measured', estimates."""

from __future__ import annotations

import pathlib
import time

import pytest

from zoo.bench.energy import NOT_MEASURED, NullMeter, RaplMeter, TdpEstimate, make_meter, rapl_delta_uj


def _zone(root: pathlib.Path, name: str, label: str, energy: int, max_range: int) -> pathlib.Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "name").write_text(label + "\n")
    (d / "energy_uj").write_text(f"{energy}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    return d


def test_rapl_delta_wraps_around():
    assert rapl_delta_uj(1_000, 5_000, 10_000) == 4_000
    # 9,000 -> wraps at 10,000 -> 2,000: 1,000 before the wrap and 2,000 after
    assert rapl_delta_uj(9_000, 2_000, 10_000) == 3_000


def test_rapl_meter_sums_packages_not_subzones(tmp_path):
    p0 = _zone(tmp_path, "intel-rapl:0", "package-0", 262_143_000_000, 262_143_328_850)
    p1 = _zone(tmp_path, "intel-rapl:1", "package-1", 5_000_000, 262_143_328_850)
    _zone(tmp_path, "intel-rapl:0:0", "core", 1_000, 262_143_328_850)  # part of package-0: not added
    meter = RaplMeter(tmp_path)
    assert meter.available and [z.name for z in meter.zones] == ["package-0", "package-1"]
    meter.start()
    (p0 / "energy_uj").write_text("1000000\n")  # wrapped: 328,850 + 1,000,000 uJ
    (p1 / "energy_uj").write_text("7000000\n")  # + 2,000,000 uJ
    assert meter.stop() == pytest.approx((328_850 + 1_000_000 + 2_000_000) / 1e6)


def test_rapl_permission_denied_is_not_measured(tmp_path, monkeypatch):
    _zone(tmp_path, "intel-rapl:0", "package-0", 10, 100)
    real = pathlib.Path.read_text

    def deny(self, *a, **k):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "read_text", deny)
    meter = RaplMeter(tmp_path)
    assert not meter.available and "permission denied" in meter.reason
    chosen = make_meter("cpu", rapl_root=tmp_path)
    assert chosen.method == NOT_MEASURED and chosen.stop() is None


def test_this_machine_reports_rapl_or_not_measured():
    meter = make_meter("cpu")
    meter.start()
    time.sleep(0.05)
    joules = meter.stop()
    if meter.method == "rapl":
        assert joules is not None and joules >= 0
    else:
        assert isinstance(meter, NullMeter) and meter.method == "not measured"
        assert joules is None and meter.reason


def test_missing_interface_and_estimate_are_labelled(tmp_path):
    meter = make_meter("cpu", rapl_root=tmp_path / "nothing")
    assert meter.method == "not measured" and "does not exist" in meter.reason
    est = make_meter("cpu", tdp_watts=100, rapl_root=tmp_path / "nothing")
    assert isinstance(est, TdpEstimate) and est.method.startswith("estimate: 100 W TDP")
    est.start()
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    j = est.stop()
    # 100 W x >= 0.2 CPU-seconds / CPUs
    assert j >= 100 * 0.18 / est.cpus
