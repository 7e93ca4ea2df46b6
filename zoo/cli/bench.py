"""``zoo bench``: speed, latency, memory, size and energy of a language's models on its real sentences."""

from __future__ import annotations

import typer

from zoo.cli.app import app


def _int_list(text: str, option: str) -> tuple[int, ...]:
    from zoo.errors import UsageError

    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, got '{text}'") from None
    if not values:
        raise UsageError(f"{option} is empty")
    return values


@app.command("bench")
def bench_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    model: list[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model to time (repeatable): 'teacher', 'students', a student id (time-xh-xs) or size (xs), "
        "'shape/xlm-roberta-large' (or another shape baseline, or 'shape/time-xs'), a checkpoint directory, "
        "a Hub id or spacy:<package> (a spaCy pipeline, timed as runtime 'spacy' on the CPU). Default: "
        "students, teacher, an xs-shaped random student if no xs student exists, and the shape baselines "
        "XLM-R base/large and mBERT.",
    ),
    runtime: str = typer.Option(
        None,
        "--runtime",
        "-r",
        help="Comma-separated runtimes: eager, eager-bf16, onnx-fp32, onnx-int8, onnx-fused-fp32, "
        "onnx-fused-int8, compile (default on CPU: all but compile; on a GPU: eager,onnx-fp32).",
    ),
    seq_len: int = typer.Option(32, "--seq-len", help="Tokens per sentence."),
    batch_sizes: str = typer.Option(
        None, "--batch-sizes", help="Batch sizes to sweep (default 1,8,32,128; --quick: 1,8)."
    ),
    threads: int = typer.Option(
        None,
        "--threads",
        help="CPU threads for torch and ONNX Runtime (default: all CPUs this process may use).",
    ),
    device: str = typer.Option(None, "--device", help="cpu or cuda[:N] (default: cuda when available)."),
    dtype: str = typer.Option("fp32", "--dtype", help="Eager/compile weights: fp32, fp16 or bf16 (GPU)."),
    min_batches: int = typer.Option(
        None, "--min-batches", help="Timed batches per point (default 30; quick 5)."
    ),
    budget: float = typer.Option(
        None,
        "--point-budget",
        help="Skip a batch size whose timing would take "
        "longer than this many seconds (default 120; quick 20).",
    ),
    tdp_watts: float = typer.Option(
        None,
        "--tdp-watts",
        help="Without RAPL/NVML, record an energy ESTIMATE from this CPU power (labelled as such).",
    ),
    spin: bool = typer.Option(
        None,
        "--spin/--no-spin",
        help="Let worker threads spin-wait between ops (fastest on an idle machine, slow on a busy one). "
        "Default: decided by a 1-second load probe.",
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Few batches, small sweep: a smoke test, recorded separately (speed-quick-...).",
    ),
    force: bool = typer.Option(False, "--force", help="Re-measure pairs whose records exist."),
) -> None:
    """Benchmark models x runtimes; every runtime is checked against the eager model before it is timed."""
    import sys

    from rich.console import Console

    from zoo.bench.choice import best_rows, render_best_rich
    from zoo.bench.config import BenchConfig, bench_models, decide_spin
    from zoo.bench.protocol import n_cpus
    from zoo.bench.run import run_bench
    from zoo.bench.tables import render_rich, settings_lines
    from zoo.errors import UsageError
    from zoo.registry import get_language
    from zoo.runtimes import cpu_default_runtimes, default_device, parse_runtimes

    spec = get_language(lang)
    # before anything imports torch: OpenMP reads its wait policy once
    thread_policy = decide_spin(spin, device or "cpu")
    device = device or default_device()
    left_out = None
    if runtime is None:  # dynamic int8 is a CPU technique
        cpu_default, left_out = cpu_default_runtimes()
        runtime = "eager,onnx-fp32" if device.startswith("cuda") else ",".join(cpu_default)
    kw = {
        "runtimes": tuple(parse_runtimes(runtime)),
        "seq_len": seq_len,
        "threads": threads or n_cpus(),
        "device": device,
        "dtype": dtype,
        "tdp_watts": tdp_watts,
        "spin": thread_policy["spin"],
        "thread_policy": thread_policy,
    }
    if batch_sizes:
        kw["batch_sizes"] = _int_list(batch_sizes, "--batch-sizes")
    if min_batches is not None:
        kw["min_batches"] = min_batches
    if budget is not None:
        kw["point_budget_s"] = budget
    cfg = BenchConfig.quick_preset(**kw) if quick else BenchConfig(**kw)
    if cfg.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {cfg.device}: no CUDA GPU is visible to PyTorch")
    cfg.validate()
    refs = bench_models(spec, model)
    console = Console(stderr=True)
    if left_out and not device.startswith("cuda"):
        console.print(f"{left_out} (name it with --runtime to time it anyway)", highlight=False)
    summary = run_bench(spec, refs, cfg, force=force, log=lambda s: console.print(s, highlight=False))
    console.print(
        f"{len(summary.written)} measured, {len(summary.failed)} failed, "
        f"{len(summary.skipped)} skipped (already in the results store; --force re-measures)"
    )
    for e in summary.errors:
        console.print(f"[red]error[/red] {e}")
    records = summary.skipped + summary.written + summary.failed
    out = Console() if sys.stdout.isatty() else Console(width=220)
    table, footnotes = render_rich(records, title=f"{spec.name} ({spec.code}) speed, {cfg.task()['name']}")
    out.print(table)
    for line in footnotes:
        out.print(line, highlight=False)
    for line in settings_lines(records):
        out.print(line, highlight=False)
    best = best_rows(records)
    if best:
        out.print(render_best_rich(best, title="Best checked runtime per batch size and sequence length"))
    out.print(
        "* shape baseline: random weights, speed only. Ratios: same runtime, same run only. "
        "Energy: 'not measured' unless RAPL/NVML was readable; estimates are labelled.",
        highlight=False,
    )
    if summary.errors and not records:
        sys.exit(1)
