"""The ``zoo run`` manifest: every invocation kept, step times summed, a heartbeat for running steps."""

from __future__ import annotations

import json
import threading
import time

from zoo import pipeline
from zoo.paths import work_dir
from zoo.registry import get_language


def test_heartbeat_beats_while_the_block_runs_and_never_after():
    beats: list[float] = []
    with pipeline._heartbeat(lambda: beats.append(time.monotonic()), every_s=0.02):
        time.sleep(0.25)
    done = time.monotonic()
    n = len(beats)
    time.sleep(0.1)
    assert n >= 5 and len(beats) == n and beats[-1] <= done
    assert not [t for t in threading.enumerate() if t.name == "zoo-run-heartbeat"]


def test_manifest_keeps_every_invocation_and_sums_step_times(data_root):
    spec = get_language("xh")
    path = work_dir() / "runs" / "run-xh.json"
    path.parent.mkdir(parents=True)
    # what a run killed during eval leaves: distill done, eval running (its last heartbeat at 50 s)
    killed = {"lang": "xh", "preset": "smoke", "sizes": ["xs"], "steps": [
        {"name": "distill", "status": "done", "wall_time_s": 100.0},
        {"name": "eval", "status": "running", "started": "2026-11-25T10:00:00+00:00", "wall_time_s": 50.0}]}
    other = {**killed, "preset": "cpu"}  # another preset's invocation does not count
    path.write_text(json.dumps({**killed, "earlier": [other]}), encoding="utf-8")

    pipeline.run_language(spec, pipeline.RunOptions(preset="smoke", steps=("teacher",)), echo=lambda m: None)
    m = json.loads(path.read_text(encoding="utf-8"))
    assert [e["preset"] for e in m["earlier"]] == ["cpu", "smoke"] and m["preset"] == "smoke"
    assert "earlier" not in m["earlier"][1] and [s["name"] for s in m["steps"]] == ["teacher"]
    teacher = m["steps"][0]["wall_time_s"]
    assert m["work_s"] == {"distill": 100.0, "eval": 50.0, "teacher": round(teacher, 1),
                           "total": round(150.0 + teacher, 1)}
