"""Shared fixtures: the real data root and an isolated work directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data root (ZOO_DATA_DIR, default ../shared/data); skips when absent."""
    root = Path(os.environ.get("ZOO_DATA_DIR", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"real data not found at {root}; set ZOO_DATA_DIR")
    return root


@pytest.fixture(autouse=True)
def _isolated_work_dir(tmp_path_factory, monkeypatch):
    """Every test writes results and students into its own temporary work directory."""
    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path_factory.mktemp("work")))
