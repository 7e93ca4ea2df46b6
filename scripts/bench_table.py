#!/usr/bin/env python
"""Reproduce the headline speed table (students vs teacher vs XLM-R-large, every runtime) as markdown.

Reads the results store (``kind="bench"`` records); with ``--run`` it first runs ``zoo bench`` for the
language with the default models and runtimes (existing records are kept). Every number in the table
comes from a record.

    python scripts/bench_table.py --lang xh                   # from the store
    python scripts/bench_table.py --lang xh --run --seq-len 32 # measure first, then print
    python scripts/bench_table.py --lang xh --out docs/speed-xh.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", required=True, help="language code, e.g. xh")
    ap.add_argument("--setting", help="only this setting (record task name, e.g. speed-L32-cpu-t2)")
    ap.add_argument("--results", type=Path, help="results store (default: the work directory's)")
    ap.add_argument("--run", action="store_true", help="run `zoo bench` for the language first")
    ap.add_argument("--seq-len", type=int, default=32, help="with --run: tokens per sentence")
    ap.add_argument("--threads", type=int, help="with --run: CPU threads (default: all usable CPUs)")
    ap.add_argument("--quick", action="store_true", help="with --run: the quick smoke protocol")
    ap.add_argument("--out", type=Path, help="write the markdown here (default: stdout)")
    args = ap.parse_args(argv)

    from zoo.errors import ZooError

    try:
        text = build(args)
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    if args.out:
        from zoo.fileio import write_text_atomic

        write_text_atomic(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def build(args: argparse.Namespace) -> str:
    """The markdown document: one table per setting, with its hardware, roofline and notes."""
    from zoo.bench.choice import best_rows, render_best_markdown
    from zoo.bench.record import load_bench_records
    from zoo.bench.tables import COLUMNS, render_markdown, settings_lines
    from zoo.errors import UsageError
    from zoo.registry import get_language

    spec = get_language(args.lang)
    if args.run:
        from zoo.bench.config import BenchConfig, bench_models, decide_spin
        from zoo.bench.protocol import n_cpus
        from zoo.bench.run import run_bench
        from zoo.runtimes import cpu_default_runtimes

        policy = decide_spin(None)
        kw = {
            "runtimes": cpu_default_runtimes()[0],
            "seq_len": args.seq_len,
            "threads": args.threads or n_cpus(),
            "spin": policy["spin"],
            "thread_policy": policy,
        }
        cfg = BenchConfig.quick_preset(**kw) if args.quick else BenchConfig(**kw)
        run_bench(spec, bench_models(spec), cfg, log=lambda s: print(s, file=sys.stderr))
    records = load_bench_records(spec.code, root=args.results)
    if args.setting:
        records = [r for r in records if r.task.name == args.setting]
    if not records:
        raise UsageError(
            f"no bench records for {spec.code}" + (f" in setting {args.setting}" if args.setting else ""),
            hint=f"run: zoo bench --lang {spec.code} (or pass --run)",
        )
    out = [f"# Speed of {spec.name} ({spec.code}) encoders", ""]
    for name in sorted({r.task.name for r in records}):
        recs = [r for r in records if r.task.name == name]
        out += [f"## {name}", "", *[f"- {line}" for line in settings_lines(recs)], ""]
        out += [render_markdown(recs, columns=COLUMNS), ""]
        best = best_rows(recs)
        if best:
            out += ["Best checked runtime per batch size (from the sweep points above):", ""]
            out += [render_best_markdown(best), ""]
    out += [
        "Throughput: median over >= 30 timed batches (after warm-up) at the best batch size of the sweep, "
        "with a percentile-bootstrap 95% interval; latency at batch 1. Ratios compare the same runtime "
        "within one run. `shape/...` rows are published architectures with random weights (speed only). "
        "Energy is measured (RAPL/NVML), labelled as an estimate, or 'not measured'. Rows marked busy were "
        "timed while other processes used the CPUs: indicative only.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
