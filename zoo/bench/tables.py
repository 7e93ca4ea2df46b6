"""The speed table, built only from bench records (:class:`zoo.bench.record.BenchRecord`): model x runtime
with throughput +- interval, latency, memory, parameters, size, speed ratios and energy (labelled). Rendered
with rich (``zoo bench``) or as markdown (``scripts/bench_table.py``).

Ratios compare the same runtime and are computed only between records of the same run (``details.run_id``):
a teacher measured in another run, under other load, is not a fair denominator; such cells say ``other run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zoo.bench.record import BenchRecord
from zoo.runtimes import RUNTIMES

XLMR_LARGE = "shape/xlm-roberta-large"
_ROLE_ORDER = {"student": 0, "model": 1, "shape-baseline": 3, "teacher": 2, "init-baseline": 4,
               "random-baseline": 5, "peer": 6}
COLUMNS = [
    "model",
    "kind",
    "runtime",
    "sentences/s (95% CI)",
    "tokens/s",
    "best batch",
    "latency p50/p95 ms",
    "peak MB",
    "params total (emb / enc)",
    "disk MB",
    "x teacher",
    "x XLM-R-large",
    "energy J/1k sent.",
    "% roofline",
    "notes",
]


def newest_per_key(records: Sequence[BenchRecord]) -> list[BenchRecord]:
    """One record per (model, runtime, setting): the newest."""
    out: dict[tuple, BenchRecord] = {}
    for r in sorted(records, key=lambda r: r.date):
        out[(r.model.id, r.runtime, r.task.name)] = r
    return list(out.values())


def _kind(rec: BenchRecord) -> str:
    role = rec.model.role
    if role == "shape-baseline":
        return "shape baseline (random weights)"
    return {"student": "student", "teacher": "teacher", "model": "model", "peer": "peer pipeline"}.get(
        role, role or "model"
    )


def _sort_key(rec: BenchRecord) -> tuple:
    params = rec.model.params.get("total") or 0
    return (
        rec.task.name,
        _ROLE_ORDER.get(rec.model.role, 9),
        params,
        rec.model.id,
        RUNTIMES.index(rec.runtime) if rec.runtime in RUNTIMES else 99,
    )


def _ratio(rec: BenchRecord, refs: list[BenchRecord]) -> str:
    sps = rec.scores.sentences_per_s
    if not sps:
        return "-"
    same_rt = [
        r
        for r in refs
        if r.runtime == rec.runtime and r.task.name == rec.task.name and r.scores.sentences_per_s
    ]
    if not same_rt:
        return "-"
    same_run = [r for r in same_rt if r.details.run_id == rec.details.run_id]
    if not same_run:
        return "other run"
    return f"{sps / same_run[-1].scores.sentences_per_s:.2f}x"


def _num(x: Any, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and not isinstance(x, bool) else "-"


def energy_text(rec: BenchRecord) -> str:
    """``12.3 (rapl)``, ``4.1 (estimate: ...)`` or ``not measured``."""
    value = rec.scores.energy_j_per_1k_sentences
    method = rec.details.energy_method or "not measured"
    if value is None:
        return "not measured"
    label = "estimate" if method.startswith("estimate") else method
    return f"{value:,.1f} ({label})"


def _roofline_text(fraction: float | None) -> str:
    return _num(100 * fraction, ".0f") if fraction else "-"


def _notes(r: BenchRecord) -> str:
    d = r.details
    notes = []
    if d.status == "failed" or not r.measured:
        notes.append(f"FAILED: {d.reason or 'no scores'}")
    if d.busy:
        notes.append(f"busy: others used up to {d.max_foreign_cpus or 0:.2f} CPUs")
    if r.task.name.startswith("speed-quick"):
        notes.append("quick (not the full protocol)")
    if d.agreement is not None and d.agreement.min_cosine is not None:
        notes.append(f"agreement: min cosine {d.agreement.min_cosine:.5f}")
    return "; ".join(notes)


def table_rows(records: Sequence[BenchRecord]) -> list[dict[str, str]]:
    """One formatted row per bench record (newest per model x runtime x setting)."""
    recs = sorted(newest_per_key(records), key=_sort_key)
    teachers = [r for r in recs if r.model.role == "teacher"]
    xlmr = [r for r in recs if r.model.id == XLMR_LARGE]
    rows = []
    for r in recs:
        sc, p = r.scores, r.model.params
        lo, hi = sc.sentences_per_s_ci95 or [None, None]
        rows.append(
            {
                "model": r.model.id,
                "kind": _kind(r),
                "runtime": r.runtime,
                "sentences/s (95% CI)": (
                    f"{sc.sentences_per_s:,.1f} [{_num(lo, ',.1f')}, {_num(hi, ',.1f')}]"
                    if sc.sentences_per_s
                    else "-"
                ),
                "tokens/s": _num(sc.tokens_per_s, ",.0f"),
                "best batch": _num(sc.best_batch_size, "d"),
                "latency p50/p95 ms": (
                    f"{sc.latency_p50_ms:.2f} / {sc.latency_p95_ms:.2f}"
                    if sc.latency_p50_ms is not None and sc.latency_p95_ms is not None
                    else "-"
                ),
                "peak MB": _num(sc.peak_memory_mb, ",.0f"),
                "params total (emb / enc)": (
                    f"{p['total'] / 1e6:.1f}M ({p['embedding'] / 1e6:.1f}M / {p['encoder'] / 1e6:.1f}M)"
                    if p.get("total") and p.get("embedding") is not None and p.get("encoder") is not None
                    else "-"
                ),
                "disk MB": _num(sc.disk_mb, ",.1f"),
                "x teacher": _ratio(r, teachers) if r.model.role != "teacher" else "1.00x",
                "x XLM-R-large": _ratio(r, xlmr) if r.model.id != XLMR_LARGE else "1.00x",
                "energy J/1k sent.": energy_text(r),
                "% roofline": _roofline_text(r.details.roofline_fraction),
                "notes": _notes(r),
            }
        )
    return rows


def settings_lines(records: Sequence[BenchRecord]) -> list[str]:
    """One line per setting: sequence length, device, threads, hardware, roofline, energy method."""
    seen: dict[str, str] = {}
    for r in sorted(records, key=lambda r: r.date):
        t, env, roof = r.task, r.environment, r.details.roofline
        hw = env.gpu if str(t.device or "").startswith("cuda") else env.cpu
        line = (
            f"{t.name}: {t.seq_len} tokens per sentence, device {t.device}, "
            f"{t.threads} threads, {hw or 'unknown hardware'} ({env.cpu_count} CPUs visible)"
        )
        if roof:
            line += (
                f"; matmul roofline fp32 {roof.fp32_gflops_torch} GFLOP/s (torch), "
                f"{roof.fp32_gflops_ort} (ORT), int8 {roof.int8_gops_ort} GOP/s (ORT)"
            )
            if roof.bf16_gflops_torch:
                line += f", bf16 {roof.bf16_gflops_torch} GFLOP/s (torch)"
        seen[t.name] = line
    return list(seen.values())


SHORT = {
    "sentences/s (95% CI)": "sent/s [95% CI]",
    "best batch": "batch",
    "latency p50/p95 ms": "p50/p95 ms",
    "params total (emb / enc)": "params (emb/enc)",
    "x XLM-R-large": "x XLM-R-L",
    "energy J/1k sent.": "J/1k sent.",
    "% roofline": "% roof",
}


def render_rich(records: Sequence[BenchRecord], title: str):
    """A rich Table of :func:`table_rows` (notes become numbered footnotes) and the footnote lines."""
    from rich.table import Table

    table = Table(title=title, show_lines=False, pad_edge=False)
    cols = [c for c in COLUMNS if c != "notes"]
    for c in cols:
        table.add_column(SHORT.get(c, c), overflow="fold")
    table.add_column("note")
    footnotes: list[str] = []
    for row in table_rows(records):
        mark = ""
        if row["notes"]:
            footnotes.append(f"[{len(footnotes) + 1}] {row['model']} / {row['runtime']}: {row['notes']}")
            mark = str(len(footnotes))
        kind = row["kind"].replace("shape baseline (random weights)", "shape*")
        table.add_row(*[kind if c == "kind" else row[c] for c in cols], mark)
    return table, footnotes


def render_markdown(records: Sequence[BenchRecord], columns: Sequence[str] = COLUMNS) -> str:
    """The table as GitHub markdown."""
    rows = table_rows(records)
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(row[c].replace("|", "/") for c in columns) + " |")
    return "\n".join(out)
