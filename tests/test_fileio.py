"""Atomic directory publishing: complete or absent, refused without overwrite, and safe when several
processes publish the same directory at once (two runs filling one cache entry)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from zoo.errors import ZooError
from zoo.fileio import atomic_dir


def test_a_failed_write_leaves_nothing_and_an_existing_dir_needs_overwrite(tmp_path):
    final = tmp_path / "entry"
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(ZooError, match="already exists"), atomic_dir(final):
        pass
    with atomic_dir(final, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
    assert [p.name for p in final.iterdir()] == ["b.txt"]


def _publish_many(final: str, writer: int, times: int, start) -> None:
    start.wait()  # all writers at once: the window between "does it exist?" and the rename is hit
    for i in range(times):
        with atomic_dir(final, overwrite=True) as tmp:
            for name in ("one.txt", "two.txt"):
                (tmp / name).write_text(f"{writer}:{i}")


def test_concurrent_publishers_all_succeed_and_leave_one_complete_dir(tmp_path):
    final = tmp_path / "entry"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_publish_many, args=(str(final), w, 200, start)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]  # no .partial or .old left behind
    one, two = (final / "one.txt").read_text(), (final / "two.txt").read_text()
    assert one == two and one.split(":")[1] == "199"  # both files from the same writer's last publish


def test_the_published_dir_replaces_an_empty_one(tmp_path: Path):
    final = tmp_path / "entry"
    final.mkdir()
    with atomic_dir(final, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (final / "a.txt").read_text() == "1"
