"""Provenance recorded with every result: the library versions and hardware, and the project's git commit."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from zoo.paths import REPO_ROOT


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Library versions, hardware and code version, recorded with every result."""
    import importlib.metadata as md

    libs = {}
    for name in (
        "torch",
        "transformers",
        "datasets",
        "accelerate",
        "onnxruntime",
        "huggingface-hub",
        "time-zoo",
    ):
        try:
            libs[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "libraries": libs,
        "git_commit": git_commit(),
    }
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return env


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The project's git commit (with ``-dirty`` when the tree has changes), or None outside a checkout."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


