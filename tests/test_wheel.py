"""The package installs from its wheel (not editable) and works outside the checkout: the registry, the task
families, the card template and the schema files ship as package data."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from test_cards import fixture_student_template, install_student  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    """This test's environment (its work directory) without PYTHONPATH: nothing may point at the checkout."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (no dependencies: they come from this venv, without its
    editable ``zoo``); returns its bin directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(REPO)], check=True, cwd=tmp, env=_env())
    [wheel] = (tmp / "dist").glob("time_zoo-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=_env())
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([venv / "bin" / "python", "-c", purelib], check=True, capture_output=True,
                               text=True, env=_env()).stdout.strip())
    # this venv's packages as a plain path: .pth files there (the editable zoo's finder) are not run
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, env=_env())
    return venv / "bin"


def _zoo(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "zoo"), *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=300)


def test_the_wheel_runs_outside_the_checkout(installed, tmp_path, data_root, fixture_student_template):  # noqa: F811
    where = subprocess.run([installed / "python", "-c", "import zoo; print(zoo.__file__)"], cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, check=True).stdout
    assert str(REPO) not in where and "site-packages" in where  # the installed copy, not the checkout

    info = _zoo(installed, tmp_path, "info", "--lang", "xh")
    assert info.returncode == 0, info.stderr
    assert "isiXhosa" in info.stdout and "masakhaner" in info.stdout

    student = install_student(fixture_student_template)
    card = _zoo(installed, tmp_path, "card", "--lang", "xh", "--size", "xs")
    assert card.returncode == 0, card.stderr
    readme = Path(card.stdout.strip())
    assert readme == student / "README.md"
    text = readme.read_text(encoding="utf-8")
    [vocab] = [line for line in text.splitlines() if line.startswith("- Vocabulary:")]
    assert "250,002" in vocab and "not recorded" not in vocab  # from the fixture's distillation.json
