"""The best checked runtime on the machine at hand: per (batch size, sequence length) from bench records
(the table ``zoo bench`` prints), and the rule :func:`fastest` that it and
``FastEncoder.from_pretrained(runtime="auto")`` (:mod:`zoo.inference`) share.

A runtime is a candidate only when it was timed and is checked: the eager fp32 model itself, or a runtime
whose agreement check against it passed. Records are compared only within one model, sequence length,
device, machine (CPU or GPU model string) and thread count; the time compared is the median time of one
batch (``latency_p50_ms`` of the sweep point), so at a fixed batch size the fastest runtime is also the one
with the highest throughput.

Cards and the leaderboard show one line per model (:func:`best_latency_and_throughput`,
:func:`best_latency_and_throughput_text`): the best checked runtime at the smallest batch size measured (its
latency) and at the batch size of the highest throughput (not simply the largest: on a 2-core AMD EPYC the
student's int8 ran 1,050 sentences/s at batch 32 and 934 at batch 128, session 11), in one setting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from zoo.bench.record import BenchRecord
from zoo.bench.tables import newest_per_key
from zoo.runtimes import RUNTIMES

BEST_COLUMNS = [
    "model",
    "tokens",
    "batch",
    "best checked runtime",
    "ms per batch (p50)",
    "sent/s",
    "next fastest",
    "machine",
    "threads",
    "notes",
]


def fastest(times: Mapping[str, float]) -> str:
    """The runtime with the smallest time (ties: the earlier in :data:`zoo.runtimes.RUNTIMES`)."""
    if not times:
        raise ValueError("no runtime to choose from")
    order = {n: i for i, n in enumerate(RUNTIMES)}
    return min(times, key=lambda n: (times[n], order.get(n, len(order)), n))


def is_checked(rec: BenchRecord) -> bool:
    """Timed, and the eager model itself or in agreement with it."""
    if not rec.measured or rec.details.status == "failed":
        return False
    return rec.runtime == "eager" or bool(rec.details.agreement and rec.details.agreement.ok)


def machine(rec: BenchRecord) -> str:
    """The chip a record was timed on (GPU name on CUDA, else the CPU model string)."""
    env = rec.environment
    on_gpu = str(rec.task.device or "").startswith("cuda")
    return (env.gpu if on_gpu else env.cpu) or "unknown hardware"


def best_rows(records: Sequence[BenchRecord]) -> list[dict[str, Any]]:
    """One row per (model, sequence length, device, machine, threads, batch size) with the fastest checked
    runtime there, its time and throughput, the next fastest runtime and how much slower it is, and whether
    the compared points come from one run and were timed while other processes used the CPUs (busy)."""
    groups: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    for rec in newest_per_key(records):
        if not is_checked(rec):
            continue
        setting = (
            rec.model.id,
            rec.task.seq_len,
            rec.task.device,
            machine(rec),
            rec.task.threads,
            rec.task.name,
        )
        for p in rec.details.sweep or []:
            groups[(*setting, p.batch_size)][rec.runtime] = {
                "ms": p.latency_p50_ms,
                "sps": p.sentences_per_s,
                "run_id": rec.details.run_id,
                "busy": bool(p.load.busy),
            }
    rows = []
    for (model, seq_len, device, chip, threads, setting, batch), cands in sorted(
        groups.items(), key=lambda kv: tuple(str(x) for x in kv[0][:6]) + (kv[0][6],)
    ):
        times = {rt: c["ms"] for rt, c in cands.items()}
        best = fastest(times)
        rest = {rt: t for rt, t in times.items() if rt != best}
        nxt = fastest(rest) if rest else None
        rows.append(
            {
                "model": model,
                "setting": setting,
                "seq_len": seq_len,
                "device": device,
                "batch_size": batch,
                "runtime": best,
                "latency_p50_ms": times[best],
                "sentences_per_s": cands[best]["sps"],
                "next": nxt,
                "next_slower": round(rest[nxt] / times[best], 3) if nxt and times[best] else None,
                "compared": sorted(times, key=lambda rt: RUNTIMES.index(rt) if rt in RUNTIMES else 99),
                "same_run": len({c["run_id"] for c in cands.values()}) == 1,
                "busy": any(c["busy"] for c in cands.values()),
                "machine": chip,
                "threads": threads,
            }
        )
    return rows


def _cells(row: dict[str, Any]) -> list[str]:
    nxt = f"{row['next']} ({row['next_slower']:.2f}x slower)" if row["next"] else "- (only one)"
    quick = str(row["setting"]).startswith("speed-quick")
    flags = (("quick protocol", quick), ("other runs", not row["same_run"]), ("machine busy", row["busy"]))
    notes = [n for n, on in flags if on]
    return [
        row["model"],
        str(row["seq_len"]),
        str(row["batch_size"]),
        row["runtime"],
        f"{row['latency_p50_ms']:.2f}",
        f"{row['sentences_per_s']:,.1f}",
        nxt,
        row["machine"],
        str(row["threads"]),
        "; ".join(notes),
    ]


def render_best_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The best-runtime table as GitHub markdown."""
    out = ["| " + " | ".join(BEST_COLUMNS) + " |", "|" + "---|" * len(BEST_COLUMNS)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in _cells(r)) + " |" for r in rows]
    return "\n".join(out)


def render_best_rich(rows: Sequence[dict[str, Any]], title: str):
    """The best-runtime table as a rich Table."""
    from rich.table import Table

    table = Table(title=title, pad_edge=False)
    for c in BEST_COLUMNS:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*_cells(r))
    return table


def choice_from_records(
    records: Sequence[BenchRecord],
    model_id: str,
    revision: str,
    cpu: str,
    threads: int,
    batch_size: int,
    seq_len: int,
) -> dict[str, Any] | None:
    """The best checked CPU runtime of ``model_id`` at ``revision`` on this CPU model and thread count,
    at the measured (sequence length, batch size) nearest to the caller's (a full-protocol run before a
    ``--quick`` one); None without such records."""
    mine = [
        r
        for r in records
        if r.model.id == model_id
        and r.model.revision == revision
        and r.task.device == "cpu"
        and r.environment.cpu == cpu
        and r.task.threads == threads
        and r.runtime in RUNTIMES
        and r.runtime != "compile"
    ]
    rows = best_rows(mine)
    if not rows:
        return None
    row = min(
        rows,
        key=lambda r: (
            abs(r["seq_len"] - seq_len),
            abs(r["batch_size"] - batch_size),
            str(r["setting"]).startswith("speed-quick"),  # the full protocol before a quick run
        ),
    )
    return {
        **row,
        "source": "bench records",
        "runs": sorted({r.details.run_id or "" for r in mine}),
    }


def best_latency_and_throughput(
    records: Sequence[BenchRecord], model_id: str, revision: str | None = None, seq_len: int = 32
) -> dict[str, Any] | None:
    """The best checked runtime of one model (at ``revision``, if given) at the smallest batch size measured
    (latency) and, among the larger ones, at the batch size of the highest throughput, in one setting:
    ``seq_len`` tokens or the nearest length, the full protocol before a ``--quick`` run, then the setting
    with the most batch sizes. None without checked records."""
    mine = [r for r in records if r.model.id == model_id and revision in (None, r.model.revision)]
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in best_rows(mine):
        groups[(row["seq_len"], row["device"], row["machine"], row["threads"], row["setting"])].append(row)
    if not groups:
        return None
    key = min(
        groups,
        key=lambda k: (abs(k[0] - seq_len), str(k[4]).startswith("speed-quick"), -len(groups[k]), str(k)),
    )
    rows = sorted(groups[key], key=lambda r: r["batch_size"])
    ends = [rows[0], max(rows[1:], key=lambda r: r["sentences_per_s"])] if len(rows) > 1 else rows
    points = [{k: r[k] for k in ("batch_size", "runtime", "latency_p50_ms", "sentences_per_s", "busy")}
              for r in ends]
    return dict(zip(("seq_len", "device", "machine", "threads"), key, strict=False), points=points)


def best_latency_and_throughput_text(best: dict[str, Any]) -> str:
    """``onnx-int8 at batch 1 (0.74 ms p50) and onnx-int8 at batch 64 (1,912 sentences/s); 32 tokens on
    <machine>, 2 threads``."""
    parts = []
    for i, p in enumerate(best["points"]):
        figure = f"{p['latency_p50_ms']:.2f} ms p50" if i == 0 else f"{p['sentences_per_s']:,.0f} sentences/s"
        busy = ", machine busy" if p["busy"] else ""
        parts.append(f"{p['runtime']} at batch {p['batch_size']} ({figure}{busy})")
    threads = f", {best['threads']} threads" if best.get("threads") else ""
    return f"{' and '.join(parts)}; {best['seq_len']} tokens on {best['machine']}{threads}"
