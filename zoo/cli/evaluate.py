"""``zoo eval``: fine-tune heads on every task of a language, for every model and seed; append records."""

from __future__ import annotations

import typer

from zoo.cli.app import app


@app.command("eval")
def eval_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    model: list[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model to evaluate (repeatable): a student id (time-xh-xs), its random baseline (random-xh-xs), "
        "its init-only baseline (init-xh-xs: the student before distillation), "
        "'teacher', 'constant' (majority label / most frequent tag per word, no training), a checkpoint "
        "directory or a Hub id. Default: the language's students, their init-only baselines (when the init "
        "copied teacher weights), their random baselines, the teacher and the constant baseline.",
    ),
    tasks: str = typer.Option(None, "--tasks", "-t", help="Comma-separated task names (default: all)."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds 0..N-1, one record each."),
    preset: str = typer.Option(
        None,
        "--preset",
        help="Fine-tuning recipe: standard (the default: whole splits, comparable with papers), quick "
        "(300 training examples: a learning-curve point), full (standard, longer; GPUs) or smoke.",
    ),
    set_: list[str] = typer.Option(None, "--set", help="Change a preset field, e.g. --set max_epochs=30."),
    force: bool = typer.Option(False, "--force", help="Recompute runs whose records exist."),
    jobs: str = typer.Option(
        "1",
        "--jobs",
        "-j",
        help="Fine-tuning runs at once, one process each (threads split evenly); auto: the number a short "
        "probe times as fastest on this machine (recorded in each record's details.eval_jobs).",
    ),
    runtime_check: str = typer.Option(
        None,
        "--runtime-check",
        help="Also score each fine-tuned NER/POS head with its encoder in these runtimes (comma-separated: "
        "eager-bf16, onnx-fp32, onnx-int8, onnx-fused-fp32, onnx-fused-int8; auto: the best checked runtimes "
        "of the model's bench records) against eager fp32; the record's details.runtime_check holds the "
        "scores, the difference in points and whether it is within 0.5.",
    ),
) -> None:
    """Evaluate models on the language's tasks; finished runs are skipped unless --force."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from zoo.evaluation.jobs_probe import parse_jobs
    from zoo.evaluation.presets import DEFAULT_PRESET, get_preset, parse_overrides
    from zoo.evaluation.progress import EvalListener, PlainListener, run_line, trial_line
    from zoo.evaluation.runner import evaluate, parse_tasks
    from zoo.evaluation.runtime_check import parse_check_runtimes
    from zoo.models import resolve_models
    from zoo.registry import get_language
    from zoo.results.tables import load_summary, render_table, runtime_check_lines

    n_jobs = parse_jobs(jobs)
    spec = get_language(lang)
    task_list = parse_tasks(spec, tasks)
    recipe = parse_overrides(get_preset(preset or DEFAULT_PRESET), set_)
    models = resolve_models(spec, model)
    check = parse_check_runtimes(runtime_check) if runtime_check is not None else []
    console = Console(stderr=True)

    if recipe.protocol != "standard":
        console.print(
            f"preset {recipe.name}: {recipe.protocol} protocol; its scores do not compare with "
            "published results (the standard preset's do)"
        )

    def run_all(listener: EvalListener):
        return evaluate(spec, models, task_list, range(seeds), recipe, force=force, listener=listener,
                        jobs=n_jobs, runtime_check=check)  # fmt: skip

    if not console.is_terminal:  # nohup, CI, a cluster log: one plain line per epoch and per run
        summary = run_all(PlainListener(lambda m: console.print(m, highlight=False, soft_wrap=True)))
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("eval", total=0)

            class Listener(EvalListener):
                def start(self, total: int) -> None:
                    progress.update(bar, total=total)

                def run_started(self, label: str) -> None:
                    progress.update(bar, description=label)

                def epoch(self, label: str, epoch: int, score: float, elapsed_s: float) -> None:
                    progress.update(bar, description=f"{label} · epoch {epoch}: {score:.1f}")

                def trial_finished(self, label: str, trial) -> None:
                    progress.console.print(trial_line(label, trial))

                def note(self, text: str) -> None:
                    progress.console.print(text)

                def run_finished(self, label: str, record, skipped: bool) -> None:
                    if record is not None and not skipped:
                        progress.console.print(run_line(label, record))
                    progress.advance(bar)

            summary = run_all(Listener())
    console.print(f"{len(summary.written)} runs done, {len(summary.skipped)} skipped (already in the store)")
    for note in summary.notes:
        console.print(note, highlight=False)
    names = {t.name for t in task_list}
    rows = [r for r in load_summary(spec.code, spec, recipe.name) if r["task"] in names]
    out = Console()
    out.print(render_table(rows, title=f"{spec.name} ({spec.code}), preset {recipe.name}"))
    for line in runtime_check_lines(rows):
        out.print(line, highlight=False, soft_wrap=True)
