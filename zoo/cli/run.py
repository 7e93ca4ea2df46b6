"""``zoo run``: the whole chain for one language (or all), resumable; see zoo/pipeline.py."""

from __future__ import annotations

from pathlib import Path

import typer

from zoo.cli.app import app
from zoo.errors import UsageError, ZooError


def _csv(text: str | None) -> list[str]:
    """``"xs, s"`` -> ``["xs", "s"]``; None or empty -> ``[]``."""
    return [x.strip() for x in (text or "").split(",") if x.strip()]


@app.command("run")
def run_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, several (xh,af) or 'all'."),
    sizes: str = typer.Option(
        None, "--sizes", help="Student sizes, e.g. xs,s (default: the recommended one)."
    ),
    preset: str = typer.Option(
        "cpu", "--preset",
        help="smoke | cpu (offline default: the CPU distillation, the standard eval protocol) | time-gpu.",
    ),
    to: str = typer.Option("local", "--to", help="Publish to 'local' (a Hub cache), 'hub', or 'none'."),
    hub_cache: Path = typer.Option(None, "--hub-cache", help="Local Hub cache (default <work>/hub-cache)."),
    org: str = typer.Option("time", "--org", help="Hub organisation of the published repos."),
    steps: str = typer.Option(None, "--steps", help="Only these steps, e.g. eval,card (default: all)."),
    tasks: str = typer.Option(None, "--tasks", help="Only these tasks (default: all)."),
    online: bool = typer.Option(
        False, "--online", help="Use the online teacher (Hub) instead of the offline one."
    ),
    jobs: str = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Fine-tuning runs at once in the eval step: a number, or auto (timed on this machine by a short "
        "probe). Default: the preset's (cpu: auto; smoke and time-gpu: 1).",
    ),
    runtime_check: str = typer.Option(
        None,
        "--runtime-check",
        help="Also score the students' fine-tuned NER/POS heads with their encoder in these runtimes, as "
        "`zoo eval --runtime-check` (e.g. onnx-int8,onnx-fused-int8; auto needs bench records of an earlier "
        "run: the bench step comes after eval).",
    ),
) -> None:
    """Teacher → distil → evaluate → bench → card → publish → leaderboard, skipping what is done."""
    from zoo import pipeline
    from zoo.cli.app import options
    from zoo.evaluation.jobs_probe import parse_jobs
    from zoo.evaluation.runtime_check import parse_check_runtimes
    from zoo.registry import parse_languages

    if to not in ("local", "hub", "none"):
        raise UsageError(f"--to {to!r}: expected local, hub or none")
    chosen = tuple(pipeline.STEPS)
    if steps:
        chosen = tuple(_csv(steps))
        for s in chosen:
            if s not in pipeline.STEPS:
                raise UsageError(f"unknown step '{s}'", hint=f"steps: {', '.join(pipeline.STEPS)}")
    opts = pipeline.RunOptions(
        sizes=_csv(sizes) or None,
        preset=preset,
        to=to,
        hub_cache=hub_cache,
        org=org,
        steps=chosen,
        online=online,
        tasks=_csv(tasks) or None,
        jobs=parse_jobs(jobs) if jobs is not None else None,
        runtime_check=tuple(parse_check_runtimes(runtime_check)) if runtime_check is not None else (),
    )
    specs = parse_languages(lang)
    failures = pipeline.run(specs, opts, echo=lambda m: typer.echo(m, err=True), debug=options.debug)
    failed = {c: e for c, e in failures.items() if e}
    for code in failures:
        typer.echo(f"{code}: {'FAILED: ' + failed[code] if code in failed else 'ok'}")
    if failed:
        raise ZooError(f"{len(failed)} of {len(failures)} languages failed: {', '.join(failed)}")
    cache = hub_cache or pipeline.default_hub_cache()
    if to == "local" and "publish" in chosen:
        typer.echo(f"published to {cache} (HF_HUB_CACHE={cache} HF_HUB_OFFLINE=1 loads time/time-<lang>)")
