"""``zoo run``: language spec → teacher → distil → evaluate → bench → card → publish → leaderboard.

Every step is idempotent and skips what is done: a finished student is not distilled again (an unfinished
one resumes from its last checkpoint), existing result records are not recomputed, an up-to-date card is
not rewritten, an identical publish is a no-op. So a run killed at any point is simply run again.
A run manifest (``<work>/runs/run-<lang>.json``) records what ran, with versions and timings, and a lock
on the work directory keeps two runs from writing into it at once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError
from zoo.fileio import exclusive_lock
from zoo.paths import work_dir
from zoo.registry import LanguageSpec

STEPS = ("teacher", "distill", "eval", "bench", "card", "publish", "leaderboard")


@dataclass(frozen=True)
class RunPreset:
    """How much work each step does: the distillation preset, the eval preset, seeds, bench depth."""

    name: str
    distill: str
    eval_preset: str
    seeds: int
    bench_quick: bool
    eval_jobs: int | str = 1  # fine-tuning runs at once (processes); auto: probed on the machine


RUN_PRESETS = {
    # the whole chain in a few minutes; numbers from it only show that the chain works
    "smoke": RunPreset("smoke", distill="smoke", eval_preset="smoke", seeds=1, bench_quick=True),
    # the offline default: the CPU distillation, scored by the standard protocol (whole splits)
    "cpu": RunPreset(
        "cpu", distill="cpu", eval_preset="standard", seeds=3, bench_quick=False, eval_jobs="auto"
    ),
    # TiME's GPU recipe
    "time-gpu": RunPreset("time-gpu", distill="time-gpu", eval_preset="full", seeds=3, bench_quick=False),
}


@dataclass
class RunOptions:
    """Options of ``zoo run``."""

    sizes: list[str] | None = None  # None: the language's recommended size
    preset: str = "cpu"
    to: str = "local"  # local | hub | none
    hub_cache: Path | None = None  # local publishing target (a Hub cache dir)
    org: str = "time"
    steps: tuple[str, ...] = STEPS
    online: bool = False
    tasks: list[str] | None = None  # None: every task of the language
    jobs: int | str | None = None  # eval runs at once (or auto); None: the preset's
    runtime_check: tuple[str, ...] = ()  # runtimes the students' NER/POS heads are scored in too (zoo eval's)

    @property
    def run_preset(self) -> RunPreset:
        if self.preset not in RUN_PRESETS:
            raise UsageError(f"unknown preset '{self.preset}'", hint=f"presets: {', '.join(RUN_PRESETS)}")
        return RUN_PRESETS[self.preset]


@dataclass
class StepResult:
    name: str
    status: str  # done | skipped | failed
    wall_time_s: float
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def default_hub_cache() -> Path:
    """Where ``--to local`` publishes by default: ``<work>/hub-cache`` (use it as HF_HUB_CACHE)."""
    return work_dir() / "hub-cache"


# ------------------------------------------------------------------------------------------------
# the steps: each returns (status, outputs) and skips work that is done


def step_teacher(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo.teachers import offline_teacher_dir, resolve_teacher

    ref = spec.teacher_online if opts.online else spec.teacher_offline
    existed = not opts.online and (offline_teacher_dir() / "config.json").is_file()
    path, revision = resolve_teacher(ref.id, ref.revision)
    return ("skipped" if existed else "done"), {"teacher": ref.id, "path": path, "revision": revision}


def step_distill(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo.distill.run import distill
    from zoo.models import student_dir

    outputs, did = {}, False
    for size in _sizes(spec, opts):
        out = student_dir(spec.code, size)
        if not (out / "distillation.json").is_file():
            distill(spec.code, size, preset=opts.run_preset.distill, online=opts.online)
            did = True
        outputs[size] = str(out)
    return ("done" if did else "skipped"), outputs


def step_eval(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo.evaluation.presets import get_preset
    from zoo.evaluation.progress import PlainListener
    from zoo.evaluation.runner import evaluate
    from zoo.evaluation.runtime_check import FAMILIES
    from zoo.models import default_models

    def say(message: str) -> None:
        print(f"[{spec.code}] eval: {message}", file=sys.stderr, flush=True)

    models = default_models(spec, sizes=_sizes(spec, opts))
    tasks = [spec.task(t) for t in opts.tasks] if opts.tasks else list(spec.tasks.values())
    # the runtime check is for what gets published: the students, not their baselines or the teacher
    checked = [m for m in models if m.role == "student"] if opts.runtime_check else []
    if checked and not {t.family for t in tasks} & set(FAMILIES):
        say(f"runtime check: no {' or '.join(FAMILIES)} task for {spec.code}: nothing to check")
        checked = []
    groups = [(checked, opts.runtime_check), ([m for m in models if m not in checked], ())]
    written = skipped = 0
    jobs: list[dict[str, Any]] = []
    for group, runtimes in groups:
        if not group:
            continue
        summary = evaluate(
            spec, group, tasks, range(opts.run_preset.seeds), get_preset(opts.run_preset.eval_preset),
            jobs=opts.jobs or opts.run_preset.eval_jobs, listener=PlainListener(say), runtime_check=runtimes,
        )
        for note in summary.notes:
            say(note)
        written, skipped = written + len(summary.written), skipped + len(summary.skipped)
        if summary.jobs:
            jobs.append(summary.jobs)
    info: dict[str, Any] = {"written": written, "skipped": skipped}
    if jobs:
        info["jobs"] = jobs
    return ("done" if written else "skipped"), info


def step_bench(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo.bench.config import BenchConfig, bench_models, decide_spin
    from zoo.bench.run import run_bench

    policy = decide_spin(None)
    if opts.run_preset.bench_quick:  # students and teacher, eager only: seconds, not the full protocol
        cfg = BenchConfig.quick_preset(runtimes=("eager",), spin=policy["spin"], thread_policy=policy)
        refs = bench_models(spec, ["students", "teacher"])
    else:  # students, teacher, XLM-R/mBERT shape baselines; eager, ONNX fp32 and int8
        cfg = BenchConfig(spin=policy["spin"], thread_policy=policy)
        refs = bench_models(spec)
    summary = run_bench(spec, refs, cfg)
    if summary.errors and not summary.written:
        raise ZooError(f"bench failed: {summary.errors[0]}")
    status = "done" if summary.written else "skipped"
    return status, {
        "written": len(summary.written),
        "skipped": len(summary.skipped),
        "failed": len(summary.failed),
        "errors": summary.errors,
    }


def step_card(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo import card

    outputs, did = {}, False
    for size in _sizes(spec, opts):
        student = card.locate_student(spec.code, size)
        readme = student.path / "README.md"
        stamp = card.read_stamp(readme.read_text(encoding="utf-8")) if readme.is_file() else None
        fresh = stamp is not None and stamp == card.current_stamp(student, opts.org)
        if not fresh:
            card.write_card(spec.code, size, org=opts.org)
            did = True
        outputs[size] = str(readme)
    return ("done" if did else "skipped"), outputs


def step_publish(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo import hub

    if opts.to == "none":
        return "skipped", {}
    outputs, did = {}, False
    for size in _sizes(spec, opts):
        plan = hub.plan_publish(spec.code, size, None, opts.org, False)
        if opts.to == "hub":
            outputs[size] = hub.publish_hub(plan)
            did = True
        else:
            snaps = hub.publish_local(plan, opts.hub_cache or default_hub_cache())
            did = did or any(s.changed for s in snaps)
            outputs[size] = {s.repo_id: s.commit for s in snaps}
    return ("done" if did else "skipped"), outputs


def step_leaderboard(spec: LanguageSpec, opts: RunOptions) -> tuple[str, dict[str, Any]]:
    from zoo.leaderboard import build_leaderboard, write_leaderboard

    paths = write_leaderboard(build_leaderboard(), work_dir() / "leaderboard")
    return "done", {k: str(v) for k, v in paths.items()}


STEP_FUNCTIONS: dict[str, Callable[[LanguageSpec, RunOptions], tuple[str, dict[str, Any]]]] = {
    "teacher": step_teacher,
    "distill": step_distill,
    "eval": step_eval,
    "bench": step_bench,
    "card": step_card,
    "publish": step_publish,
    "leaderboard": step_leaderboard,
}


def _sizes(spec: LanguageSpec, opts: RunOptions) -> list[str]:
    sizes = opts.sizes or [spec.recommended_size]
    for s in sizes:
        spec.size(s)  # did-you-mean on an unknown size
    return sizes


# ------------------------------------------------------------------------------------------------


def run_language(
    spec: LanguageSpec, opts: RunOptions, echo: Callable[[str], None] = print
) -> list[StepResult]:
    """Run the chain for one language; stops at the first failing step (the error is re-raised).

    The manifest ``runs/run-<lang>.json`` describes this invocation and keeps the earlier ones under
    ``earlier``; ``work_s`` sums each step's time over every invocation with the same preset and sizes,
    so a run that was stopped and continued still says how long its work took.
    """
    from zoo.manifest import RunManifest, StepEntry, earlier_invocations
    from zoo.results import environment

    manifest_path = work_dir() / "runs" / f"run-{spec.code}.json"
    manifest = RunManifest(
        lang=spec.code, preset=opts.preset, sizes=_sizes(spec, opts), to=opts.to, started=_now(),
        environment=environment(), steps=[], earlier=earlier_invocations(manifest_path),
    )
    lock = threading.Lock()

    def save(step: dict[str, Any] | None = None) -> None:
        with lock:
            manifest.with_step(StepEntry(**step) if step else None).write(manifest_path)

    results: list[StepResult] = []
    for name in opts.steps:
        echo(f"[{spec.code}] {name} ...")
        t0 = time.monotonic()
        running = {"name": name, "status": "running", "started": _now(), "wall_time_s": 0.0}
        save(running)  # a killed run shows where it stopped and how long that step had run

        def beat(running: dict[str, Any] = running, t0: float = t0) -> None:
            save({**running, "wall_time_s": round(time.monotonic() - t0, 1)})

        try:
            with _heartbeat(beat):  # stopped (joined) before the step's outcome is saved
                status, outputs = STEP_FUNCTIONS[name](spec, opts)
        except BaseException as e:
            res = StepResult(name, "failed", time.monotonic() - t0, error=_one_line(e))
            results.append(res)
            manifest.steps.append(StepEntry(**res.__dict__))
            manifest.finished = _now()
            save()
            raise
        res = StepResult(name, status, time.monotonic() - t0, outputs)
        results.append(res)
        manifest.steps.append(StepEntry(**res.__dict__))
        save()
        echo(f"[{spec.code}] {name}: {status} ({res.wall_time_s:.1f} s)")
    manifest.finished = _now()
    save()
    this = sum(r.wall_time_s for r in results)
    echo(f"[{spec.code}] finished in {this:.0f} s; work over every invocation of this run: "
         f"{manifest.with_step(None).work_s['total']:.0f} s (runs/run-{spec.code}.json)")
    return results


HEARTBEAT_S = 30.0


@contextmanager
def _heartbeat(beat: Callable[[], None], every_s: float = HEARTBEAT_S) -> Iterator[None]:
    """Call ``beat`` every ``every_s`` seconds in a thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            with contextlib.suppress(Exception):  # a failed manifest update must not stop the step
                beat()

    thread = threading.Thread(target=loop, name="zoo-run-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run(
    specs: list[LanguageSpec], opts: RunOptions, echo: Callable[[str], None] = print, debug: bool = False
) -> dict[str, str | None]:
    """Run every language in turn under a lock on the work directory.

    With several languages a failing one is reported and the next one runs; the return value maps each
    language to its error (None when it succeeded). A single language re-raises its error.
    """
    _ = opts.run_preset  # validate before taking the lock
    failures: dict[str, str | None] = {}
    with exclusive_lock(work_dir() / ".zoo-run.lock", what=f"the work directory {work_dir()}"):
        for spec in specs:
            try:
                run_language(spec, opts, echo)
                failures[spec.code] = None
            except (ZooError, Exception) as e:
                if len(specs) == 1:
                    raise
                if debug:
                    traceback.print_exc()
                failures[spec.code] = _one_line(e)
                echo(f"[{spec.code}] failed: {failures[spec.code]}")
    return failures


def _one_line(e: BaseException) -> str:
    text = str(e) if isinstance(e, ZooError) else f"{type(e).__name__}: {e}"
    return text.splitlines()[0] if text else type(e).__name__


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
