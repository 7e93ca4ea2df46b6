"""``zoo lm-eval``: a language's sentence-level tasks as lm-eval tasks, scored zero-shot; a record each."""

from __future__ import annotations

from pathlib import Path

import typer

from zoo.cli.app import app


@app.command("lm-eval")
def lm_eval_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    model: str = typer.Option(
        None, "--model", "-m",
        help="The model to score: a student id (time-xh-xs), its random-init twin (random-xh-xs), 'teacher', "
        "a checkpoint directory or a Hub id. Needed unless --tasks-only.",
    ),
    tasks: str = typer.Option(
        None, "--tasks", "-t",
        help="Comma-separated zoo task names (afrixnli) or lm-eval names (zoo_afrixnli_xh); default: every "
        "sentence-level task with local data.",
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Score only the first N examples of each task."),
    lm_model: str = typer.Option(
        "time-mlm", "--lm-model",
        help="lm-eval model type: time-mlm (masked LMs, pseudo-log-likelihood) or hf (causal LMs).",
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for the task YAMLs (default <work>/lm-eval/tasks/<lang>)."
    ),
    tasks_only: bool = typer.Option(
        False, "--tasks-only", help="Write the task YAMLs and say how to run them."
    ),
    device: str = typer.Option(None, "--device", help="torch device (default: cuda when present, else cpu)."),
    max_tokens: int = typer.Option(
        8192, "--max-tokens", min=1, help="time-mlm: padded tokens per forward pass (masked copies batched)."
    ),
    force: bool = typer.Option(False, "--force", help="Rescore tasks whose records exist."),
) -> None:
    """Score a model zero-shot with lm-eval on the language's tasks (protocol "lm-eval zero-shot")."""
    from rich.console import Console

    from zoo.harness.tasks import harness_tasks, write_tasks
    from zoo.registry import get_language

    spec = get_language(lang)
    names = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
    console = Console(stderr=True)
    if tasks_only:
        from zoo.harness.run import default_tasks_dir

        chosen = harness_tasks(spec, names)
        folder = write_tasks(chosen, out or default_tasks_dir(spec.code))
        typer.echo(f"{len(chosen)} lm-eval tasks written to {folder}: {', '.join(t.name for t in chosen)}")
        typer.echo(f"run: python -m zoo.harness --model time-mlm --model_args pretrained=<dir or Hub id> "
                   f"--tasks zoo_{spec.code} --include_path {folder}")
        return
    if not model:
        from zoo.errors import UsageError

        raise UsageError("--model is required (or pass --tasks-only)")
    _require_lm_eval()
    from zoo.harness.run import run_harness

    records = run_harness(spec, model, names, limit=limit, lm_model=lm_model, tasks_dir=out, device=device,
                          max_tokens=max_tokens, force=force,
                          say=lambda m: console.print(m, highlight=False, soft_wrap=True))
    for r in records:
        d = r["details"]
        typer.echo(f"{r['model']['id']}\t{r['task']['name']}\t{d['lm_eval_task']}\tn={d['n_examples']}\t"
                   f"accuracy={r['scores']['accuracy']:.1f}\tmacro_f1={r['scores']['macro_f1']:.1f}\t"
                   f"chance={d['chance']:.1f}\t{r['task']['preset']}")


def _require_lm_eval() -> None:
    import importlib.util

    from zoo.errors import UsageError

    if importlib.util.find_spec("lm_eval") is None:
        raise UsageError("lm-eval is not installed",
                         hint="pip install 'time-zoo[lm-eval]' (scripts/setup.sh does)")
