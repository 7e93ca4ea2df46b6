"""The speed columns of the leaderboard, from bench records: runtimes, energy labels, the reference setting.

- Each language has one reference setting (sequence length, device, hardware, threads): the one benchmarked
  for the most models. A row's ``speed.best`` is its fastest *checked* runtime in that setting; every runtime
  of every setting is listed in ``speed.runtimes``. A runtime is checked when it is the eager model itself
  (variant null or ``eager``) or its record's details say its outputs agree with the eager model's
  (``details.agreement.ok`` or ``details.agreement_ok`` true).
- ``speed.best_by_batch``: the fastest checked runtime at the smallest batch size measured and at the batch
  size of the highest throughput, with its machine (:func:`zoo.bench.choice.best_latency_and_throughput`, as
  on the cards); from the records' sweeps, in the setting nearest to 32 tokens.
- Energy is ``measured`` only with ``details.energy_method`` ``rapl`` or ``nvml`` and a value; ``estimate: …``
  methods are labelled ``estimated``; anything else is ``not measured`` with a null value.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

_MEASURED = ("rapl", "nvml")
_BENCH_FIELDS = (
    "sentences_per_s",
    "sentences_per_s_ci95",
    "tokens_per_s",
    "best_batch_size",
    "latency_p50_ms",
    "latency_p95_ms",
    "peak_memory_mb",
    "disk_mb",
)
EAGER = (None, "", "eager")  # variants that are the eager model itself


def energy_label(method: str | None, value: float | None) -> str:
    """``measured`` (RAPL/NVML with a value), ``estimated`` (method ``estimate: …``) or ``not measured``."""
    m = (method or "").strip().lower()
    if value is None:
        return "not measured"
    if m in _MEASURED:
        return "measured"
    if m.startswith("estimate"):
        return "estimated"
    return "not measured"


def _checked(variant: str | None, details: dict[str, Any]) -> bool:
    """Whether a runtime may stand for the model: the eager model, or outputs checked against it."""
    if variant in EAGER:
        return True
    agreement = details.get("agreement")
    if isinstance(agreement, dict) and agreement.get("ok") is True:
        return True
    return details.get("agreement_ok") is True


def runtime_entry(rec: dict[str, Any]) -> dict[str, Any]:
    """One bench record as a runtime entry."""
    scores, details, env = rec.get("scores") or {}, rec.get("details") or {}, rec.get("environment") or {}
    device = details.get("device") or "cpu"
    threads = details.get("threads")
    chip = env.get("gpu") if str(device).startswith("cuda") and env.get("gpu") else env.get("cpu")
    value = scores.get("energy_j_per_1k_sentences")
    label = energy_label(details.get("energy_method"), value)
    entry: dict[str, Any] = {
        "runtime": rec.get("variant") or "eager",
        "seq_len": rec["task"].get("seq_len"),
        "device": device,
        "hardware": f"{chip or 'unknown hardware'}" + (f", {threads} threads" if threads else ""),
        "cpu": env.get("cpu"),
        "gpu": env.get("gpu"),
        "threads": threads,
        "dtype": details.get("dtype"),
    }
    for key in _BENCH_FIELDS:
        entry[key] = scores.get(key)
    entry.update(
        {
            "energy_j_per_1k_sentences": value if label != "not measured" else None,
            "energy_method": details.get("energy_method") or "not measured",
            "energy_label": label,
            "checked": _checked(rec.get("variant"), details),
            "in_reference_setting": False,
            "date": rec.get("date"),
            "git_commit": env.get("git_commit"),
        }
    )
    return entry


def setting(rt: dict[str, Any]) -> tuple:
    """(seq_len, device, CPU or GPU name, threads): runtimes of one setting are comparable."""
    return (
        rt["seq_len"],
        rt["device"],
        rt["cpu"] if not str(rt["device"]).startswith("cuda") else rt["gpu"],
        rt["threads"],
    )


def reference_setting(runtimes: dict[str, list[dict[str, Any]]]) -> tuple | None:
    """The speed setting benchmarked for the most models (then with the most runtimes, then the newest)."""
    models: dict[tuple, set] = defaultdict(set)
    stats: dict[tuple, list] = defaultdict(lambda: [0, ""])
    for m, rts in runtimes.items():
        for rt in rts:
            s = setting(rt)
            models[s].add(m)
            stats[s][0] += 1
            stats[s][1] = max(stats[s][1], rt["date"] or "")
    return max(models, key=lambda s: (len(models[s]), *stats[s]), default=None)


def best_by_batch(recs: list[dict[str, Any]], model_id: str) -> dict[str, Any] | None:
    """:func:`zoo.bench.choice.best_latency_and_throughput` of one model's bench records, with its line of
    text."""
    from zoo.bench.choice import best_latency_and_throughput, best_latency_and_throughput_text
    from zoo.bench.record import BenchRecord

    best = best_latency_and_throughput([BenchRecord.from_json(r) for r in recs], model_id)
    return {**best, "text": best_latency_and_throughput_text(best)} if best else None


def speed_entry(rts: list[dict[str, Any]], ref_setting: tuple | None) -> dict[str, Any]:
    """The fastest checked runtime in the reference setting, and every runtime (reference setting first)."""
    for rt in rts:
        rt["in_reference_setting"] = setting(rt) == ref_setting
    candidates = [rt for rt in rts if rt["in_reference_setting"] and rt["checked"] and rt["sentences_per_s"]]
    best = max(candidates, key=lambda rt: rt["sentences_per_s"], default=None)
    rts = sorted(rts, key=lambda rt: (not rt["in_reference_setting"], -(rt["sentences_per_s"] or 0)))
    return {"best": best, "runtimes": rts}
