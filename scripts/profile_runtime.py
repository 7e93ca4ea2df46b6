#!/usr/bin/env python
"""Where one encoder forward's time goes, per runtime: time share per operator kind, achieved GFLOP/s and the
share of this machine's matrix-multiply roofline.

    python scripts/profile_runtime.py --model zoo-work/students/time-xh-xs
    python scripts/profile_runtime.py --lang xh --model shape/time-xs --runtime eager,onnx-fused-int8 \\
        --batch 1 --seq-len 32 --out profile.json

Per runtime (each checked against the eager fp32 model first, :func:`zoo.runtimes.check_agreement`):

- the median time of one forward (:func:`zoo.bench.protocol.time_batches`, without a profiler attached);
- the time per operator kind: ONNX Runtime's profiler (``SessionOptions.enable_profiling``: the
  ``*_kernel_time`` node events, by ``op_name``) for ONNX runtimes, ``torch.profiler`` (self CPU time per
  ``aten::`` op) for eager ones; each kind's share of the profiled total (the shares sum to 1);
- FLOPs of the forward counted from the shapes (:func:`zoo.bench.roofline.encoder_ops_per_token`: the
  encoder's matmuls, a multiply-add = 2), the achieved GFLOP/s at the median time, and the fraction of the
  roofline measured now (:func:`zoo.bench.roofline.measure_roofline`, the peak of the runtime's precision).

Inputs are random token ids (the time depends on shapes only): ``--batch`` sentences of ``--seq-len`` tokens,
no padding. Writes a JSON file (``--out``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_RUNTIMES = "eager,onnx-fp32,onnx-int8,onnx-fused-fp32,onnx-fused-int8"


def ort_op_times(profile_file: str, skip_runs: int) -> dict[str, float]:
    """Microseconds per operator kind from an ONNX Runtime profile, after the first ``skip_runs`` runs."""
    events = json.loads(Path(profile_file).read_text(encoding="utf-8"))
    runs = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    start = runs[skip_runs] if len(runs) > skip_runs else 0
    out: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
            out[e["args"]["op_name"]] += float(e["dur"])
    return dict(out)


def torch_op_times(run, batch, runs: int) -> dict[str, float]:
    """Self CPU microseconds per ``aten::`` op over ``runs`` forwards (``torch.profiler``)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            run(batch)
    return {e.key: float(e.self_cpu_time_total) for e in prof.key_averages() if e.self_cpu_time_total > 0}


def shares(times_us: dict[str, float], runs: int) -> dict[str, dict[str, float]]:
    """Each op kind's share of the total and its milliseconds per forward, largest first."""
    total = sum(times_us.values()) or 1.0
    ordered = sorted(times_us.items(), key=lambda kv: -kv[1])
    return {
        k: {"share": round(v / total, 5), "ms_per_forward": round(v / runs / 1000, 5)} for k, v in ordered
    }


def profile_runtime(name: str, ctx: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Check, time and profile one runtime."""
    from zoo.bench.protocol import time_batches
    from zoo.runtimes import (
        MIN_COSINE,
        TORCH_RUNTIMES,
        OrtRuntime,
        RuntimeUnavailable,
        check_agreement,
        prepare_runtime,
    )

    ref, batch, check = ctx["ref"], ctx["batch"], ctx["check"]
    model = ref.load_model(seed=0) if name in TORCH_RUNTIMES else ctx["model"]
    try:
        prepared = prepare_runtime(name, model, ctx["root"], args.threads, spin=args.spin)
    except RuntimeUnavailable as e:
        return {"status": "unavailable", "reason": str(e)}
    rt = prepared.runtime
    out: dict[str, Any] = {"status": "ok"}
    if name != "eager":
        got = [rt.hidden(b) for b in check]
        out["agreement"] = check_agreement(
            ctx["reference"], got, [b["attention_mask"] for b in check], MIN_COSINE[name]
        )
        if not out["agreement"]["ok"]:
            out["status"] = "failed agreement; not profiled"
            return out
    t = time_batches(rt, [batch], args.batch, warmup=args.warmup, min_batches=args.runs, min_seconds=1.0)
    lat = t.latency_ms()
    out.update({"p50_ms": round(lat["p50"], 4), "p95_ms": round(lat["p95"], 4), "n_timed": t.n})
    out["foreign_cpus"] = t.load.as_dict()["foreign_cpus"]
    if name in TORCH_RUNTIMES:
        for _ in range(args.warmup):
            rt(batch)
        out["profiler"] = "torch.profiler (self CPU time per op)"
        out["op_kinds"] = shares(torch_op_times(rt, batch, args.runs), args.runs)
    else:
        with tempfile.TemporaryDirectory(prefix="zoo-prof-") as tmp:
            prof_rt = OrtRuntime(rt.path, name, args.threads, spin=args.spin, profile_prefix=f"{tmp}/ort")
            for _ in range(args.warmup + args.runs):
                prof_rt(batch)
            times = ort_op_times(prof_rt.session.end_profiling(), args.warmup)
        out["profiler"] = "onnxruntime (SessionOptions.enable_profiling, kernel time per op_name)"
        out["op_kinds"] = shares(times, args.runs)
    if prepared.export and prepared.export.get("fusions"):
        out["fusions"] = prepared.export["fusions"]
    gflops = ctx["flops"] / (out["p50_ms"] / 1000) / 1e9
    out["achieved_gflops"] = round(gflops, 2)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Profile every runtime in ``args.runtime``; the JSON document."""
    import torch

    from zoo.bench.roofline import encoder_ops_per_token, measure_roofline, roofline_key
    from zoo.models import model_from_arg, resolve_model
    from zoo.onnx_export import export_root
    from zoo.registry import get_language
    from zoo.results import environment
    from zoo.runtimes import TorchRuntime, parse_runtimes

    names = parse_runtimes(args.runtime)
    ref = resolve_model(get_language(args.lang), args.model)[0] if args.lang else model_from_arg(args.model)
    torch.set_num_threads(args.threads)
    model = ref.load_model(seed=0).eval()
    config = model.config
    rng = np.random.default_rng(0)
    ids = rng.integers(5, config.vocab_size, (args.batch, args.seq_len)).astype(np.int64)
    batch = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    padded = {"input_ids": ids.copy(), "attention_mask": np.ones_like(ids)}
    padded["attention_mask"][:, args.seq_len // 2 :] = 0
    check = [batch, padded]
    eager = TorchRuntime(model)
    ctx = {
        "ref": ref,
        "model": model,
        "batch": batch,
        "check": check,
        "reference": [eager.hidden(b) for b in check],
        "root": export_root(ref.id, ref.revision(), ref.config, seed=0),
        "flops": encoder_ops_per_token(config, args.seq_len) * args.seq_len * args.batch,
    }
    results = {}
    for name in names:
        print(f"profiling {name} ...", file=sys.stderr)
        results[name] = profile_runtime(name, ctx, args)
    roofline = None
    if not args.no_roofline:
        kinds = tuple(dict.fromkeys(roofline_key(n) for n in names))
        roofline = measure_roofline(args.threads, m=args.roofline_m, min_seconds=1.0, kinds=kinds)
        for name, r in results.items():
            peak = roofline.get(roofline_key(name))
            if "achieved_gflops" in r and peak:
                r["roofline_gops"] = peak
                r["roofline_fraction"] = round(r["achieved_gflops"] / peak, 4)
    env = environment()
    return {
        "model": ref.id,
        "revision": ref.revision(),
        "machine": env["cpu"],
        "threads": args.threads,
        "batch_size": args.batch,
        "seq_len": args.seq_len,
        "inputs": "random token ids, no padding (time depends on shapes only)",
        "flops_per_forward": ctx["flops"],
        "flops_count": "encoder matmuls (QKV/O projections, FFN, QK^T and AV), multiply-add = 2",
        "roofline": roofline,
        "runtimes": results,
        "versions": env.get("libraries"),
    }


def markdown(doc: dict[str, Any], top: int = 5) -> str:
    """A short table: per runtime the median time, GFLOP/s, roofline share and the largest op kinds."""
    lines = [
        f"{doc['model']}, batch {doc['batch_size']} x {doc['seq_len']} tokens, {doc['threads']} threads, "
        f"{doc['machine']}; {doc['flops_per_forward'] / 1e9:.3f} GFLOP per forward",
        "",
        "| runtime | p50 ms | GFLOP/s | % roofline | largest op kinds (share of profiled time) |",
        "|---|---|---|---|---|",
    ]
    for name, r in doc["runtimes"].items():
        if "p50_ms" not in r:
            lines.append(f"| {name} | - | - | - | {r['status']}: {r.get('reason', '')} |")
            continue
        frac = r.get("roofline_fraction")
        ops = ", ".join(f"{k} {v['share']:.0%}" for k, v in list(r["op_kinds"].items())[:top])
        pct = f"{100 * frac:.1f}" if frac else "-"
        lines.append(f"| {name} | {r['p50_ms']:.3f} | {r['achieved_gflops']:.1f} | {pct} | {ops} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from zoo.bench.protocol import n_cpus

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="checkpoint dir or Hub id (with --lang: any zoo --model)")
    ap.add_argument("--lang", help="resolve --model as zoo bench does (student ids, shape/time-xs, ...)")
    ap.add_argument(
        "--runtime", default=DEFAULT_RUNTIMES, help=f"comma-separated (default {DEFAULT_RUNTIMES})"
    )
    ap.add_argument("--batch", type=int, default=1, help="sentences per forward (default 1)")
    ap.add_argument("--seq-len", type=int, default=32, help="tokens per sentence (default 32)")
    ap.add_argument("--threads", type=int, default=n_cpus(), help="CPU threads (default: all usable)")
    ap.add_argument("--runs", type=int, default=50, help="timed and profiled forwards (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed forwards first (default 5)")
    ap.add_argument(
        "--spin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="worker threads spin-wait (default: decided by a 1-second load probe, as zoo bench does)",
    )
    ap.add_argument("--no-roofline", action="store_true", help="skip the matrix-multiply roofline")
    ap.add_argument("--roofline-m", type=int, default=2048, help="rows of the roofline multiply")
    ap.add_argument("--out", type=Path, default=Path("profile_runtime.json"), help="the JSON file")
    args = ap.parse_args(argv)

    from zoo.bench.config import decide_spin
    from zoo.errors import ZooError
    from zoo.fileio import write_json_atomic

    policy = decide_spin(args.spin)  # before torch loads: OpenMP reads its wait policy once
    args.spin = policy["spin"]
    try:
        doc = run(args)
        doc["thread_policy"] = policy
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    write_json_atomic(args.out, doc)
    print(markdown(doc))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
