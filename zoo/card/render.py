"""Render a student's ``README.md``: template variables from the gathered facts, a ``model-index`` of
:class:`huggingface_hub.EvalResult` objects (mean over seeds of every standard-protocol metric), and the
jinja2 template ``templates/model_card.md.j2`` rendered through :class:`huggingface_hub.ModelCard`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.card.context import Student, locate_student, repo_ids
from zoo.card.fmt import (
    NOT_RECORDED,
    energy_text,
    fmt_constant,
    fmt_duration,
    fmt_int,
    fmt_mapping,
    fmt_millions,
    fmt_numerics,
    fmt_percent_share,
    fmt_score,
    fmt_stopping,
    is_num,
)
from zoo.card.licence import LicenceChoice, licence_terms, student_licence, teacher_licence
from zoo.card.scores import BenchRow, TaskResult, collect_bench, collect_eval
from zoo.card.stamp import current_stamp, stamp_comment
from zoo.errors import ZooError
from zoo.fileio import write_text_atomic
from zoo.registry import SIZES
from zoo.results import PROTOCOL_LABELS, retention_text
from zoo.results.runtime_scores import runtime_check_text

TEMPLATE = Path(__file__).resolve().parent / "templates" / "model_card.md.j2"

# Task family -> (Hugging Face task type for model-index, readable task name).
FAMILY_TASKS = {
    "ner": ("token-classification", "Named-entity recognition"),
    "pos": ("token-classification", "Part-of-speech tagging"),
    "ud": ("token-classification", "UD tagging, lemmatisation and dependency parsing"),
    "nli": ("text-classification", "Natural language inference"),
    "rte": ("text-classification", "Recognising textual entailment"),
    "topic": ("text-classification", "Topic classification"),
}


def _card_data(student: Student, tasks: list[TaskResult], licence: LicenceChoice):
    from huggingface_hub import EvalResult, ModelCardData

    results = []
    for t in tasks:
        if not t.evaluated or t.protocol != "standard":  # learning-curve points are not dataset results
            continue
        task_type, task_name = FAMILY_TASKS.get(t.task.family, ("feature-extraction", t.task.family))
        hub = t.task.hub
        for metric in (t.task.main_metric, *[m for m in t.task.metrics if m != t.task.main_metric]):
            s = t.student.get(metric)
            if not s:
                continue
            results.append(
                EvalResult(
                    task_type=task_type,
                    task_name=task_name,
                    dataset_type=hub.id if hub else f"{student.spec.code}/{t.task.name}",
                    dataset_name=f"{t.task.name} ({student.spec.name})",
                    dataset_config=hub.config if hub else None,
                    dataset_split=t.task.splits.get("score"),
                    dataset_revision=hub.revision if hub else None,
                    metric_type=metric,
                    metric_value=round(s["mean"], 2),
                    metric_name=f"{metric} (mean of {s['n']} seed{'s' if s['n'] != 1 else ''})",
                )
            )
    datasets = sorted({t.task.hub.id for t in tasks if t.evaluated and t.task.hub})
    return ModelCardData(
        language=student.spec.code,
        license=licence.id,
        library_name="transformers",
        pipeline_tag="feature-extraction",
        datasets=datasets or None,
        tags=["time-zoo", "tiny-monolingual-encoder", "bert", "distillation", "minilmv2", student.spec.code],
        model_name=student.model_id,
        eval_results=results or None,
    )


def _distillation_context(student: Student, licence: LicenceChoice) -> dict[str, Any]:
    d = student.distillation
    if d is None:  # the template says "not recorded" for the whole section
        return {"recorded": False, "teacher_id": NOT_RECORDED, "teacher_licence": teacher_licence(None),
                "vocab_teacher": NOT_RECORDED, "vocab_kept": NOT_RECORDED, "vocab_kept_share": NOT_RECORDED}
    files, t, env = d.corpus.files, d.training, d.environment
    rows = [
        {
            "name": Path(f.path).name,
            "lines": fmt_int(f.lines),
            "words": fmt_int(f.words),
            "sha256": f.sha256[:12],
            "licence": licence.sources.get(Path(f.path).name, "not stated"),
        }
        for f in files
    ]
    words = [f.words for f in files]
    curve = t.heldout_loss_curve
    if len(curve) > 8:
        picks = sorted({round(i * (len(curve) - 1) / 7) for i in range(8)})
        curve = [curve[i] for i in picks]
    step0, best = t.heldout_loss_at_step_0, t.best_heldout_loss
    hidden = d.loss.hidden_state
    hidden_text = hidden and (
        f"{hidden.weight:g} x MSE between the student's last hidden state and the output of teacher layer "
        f"{hidden.teacher_layer} (map: {hidden.map})"
    )
    return {
        "recorded": True,
        "init": d.student.embedding_init,
        "untrained": [{"parameters": g.parameters, "reason": g.reason} for g in d.student.untrained_list()],
        "hidden_loss": hidden_text,
        "teacher_id": d.teacher.id,
        "teacher_revision": d.teacher.revision or NOT_RECORDED,
        "teacher_layer": d.teacher.layer,
        "relation_heads": d.teacher.relation_heads,
        "relations": fmt_mapping(d.loss.relations),
        "teacher_licence": teacher_licence(d.teacher.id),
        "corpus_rows": rows,
        "corpus_words": fmt_int(sum(words)) if words and None not in words else NOT_RECORDED,
        "corpus_files": len(files),
        "tokens_seen": fmt_int(t.tokens_seen),
        "steps": fmt_int(t.steps),
        "best_step": fmt_int(t.best_step),
        "loss_step0": NOT_RECORDED if step0 is None else f"{step0:.4f}",
        "loss_best": NOT_RECORDED if best is None else f"{best:.4f}",
        "loss_curve": ", ".join(f"{int(s)}: {v:.4f}" for s, v in curve),
        "wall_time": fmt_duration(t.wall_time_s),
        "stopped": fmt_stopping(d.stopping),
        "numerics": fmt_numerics(d.numerics),
        "hardware": fmt_mapping({"cpu": env.cpu, "cpu_count": env.cpu_count, "device": env.device,
                                 "torch_threads": env.torch_threads}),
        "libraries": fmt_mapping(env.libraries),
        "preset": d.preset.name,
        "preset_overrides": fmt_mapping(d.preset.overrides) if d.preset.overrides else "none",
        "date": d.date,
        "vocab_teacher": fmt_int(d.vocab.teacher_pieces),
        "vocab_kept": fmt_int(d.vocab.kept_pieces),
        "vocab_kept_share": fmt_percent_share(d.vocab.kept_fraction),
        "mlm": _mlm_context(d.mlm_head),
    }


def _mlm_context(h) -> dict[str, Any] | None:
    """The masked-LM head line of the card (None: no head recorded)."""
    if h is None:
        return None
    e = h.heldout
    pct = "{:.1f} %".format
    return {
        "objective": h.description, "steps": fmt_int(h.steps), "accuracy": pct(100 * e.accuracy),
        "unigram_accuracy": pct(100 * e.unigram_accuracy), "unigram_piece": e.unigram_piece,
        "positions": fmt_int(e.masked_positions), "sequences": fmt_int(e.sequences),
        "pppl": f"{e.pseudo_perplexity:.1f}", "unigram_pppl": f"{e.unigram_perplexity:.1f}",
        "pppl_tokens": fmt_int(e.pppl_tokens),
        "teacher_accuracy": None if e.teacher_accuracy is None else pct(100 * e.teacher_accuracy),
    }  # fmt: skip


def _eval_context(tasks: list[TaskResult]) -> dict[str, Any]:
    rows, notes = [], []
    for t in tasks:
        metrics = (t.task.main_metric, *[m for m in t.task.metrics if m != t.task.main_metric])
        for metric in metrics if t.evaluated else (t.task.main_metric,):
            s, te, ra, ini = (t.student.get(metric), t.teacher.get(metric), t.random.get(metric),
                              t.init.get(metric))  # fmt: skip
            retention = retention_text(t.retention(metric)) if t.evaluated else "–"
            rows.append(
                {
                    "task": t.task.name,
                    "metric": metric + (" (main)" if metric == t.task.main_metric else ""),
                    "student": fmt_score(s),
                    "teacher": fmt_score(te),
                    "random": fmt_score(ra),
                    "init": fmt_score(ini),
                    "constant": fmt_constant(t.constant.get(metric)),
                    "retention": retention,
                    "seeds": str(len(t.seeds)) if t.evaluated else "–",
                    "preset": t.preset or "–",
                    "protocol": PROTOCOL_LABELS.get(t.protocol or "", "–") if t.evaluated else "–",
                    "converged": f"no: still rising at max_epochs in {t.unconverged_seeds} seed(s)"
                    if t.unconverged_seeds
                    else "yes",
                }
            )
        split = ", ".join(f"{k}: {v}" for k, v in t.task.splits.items())
        notes.append(
            {
                "task": t.task.name,
                "family": t.task.family,
                "metric_note": t.task.metric_note or "",
                "splits": split,
                "note": " ".join((t.task.note or "").split()),
                "licence": t.task.license or "not stated",
                "hub": t.task.hub.id if t.task.hub else "local files",
                "teacher_revision": t.teacher_revision,
            }
        )
    return {
        "eval_rows": rows,
        "runtime_rows": [
            {"task": t.task.name, "text": runtime_check_text(c), "tolerance": f"{c['tolerance_points']:g}"}
            for t in tasks
            if (c := t.runtime_check)
        ],
        "task_notes": notes,
        "any_evaluated": any(t.evaluated for t in tasks),
        "any_init": any(t.init for t in tasks),
        "nc_eval_sets": [t.task.name for t in tasks if "nc" in licence_terms(t.task.license or "")],
    }


def _best_runtime(student: Student) -> str | None:
    """The student's best checked runtime at the smallest batch and at the batch of the highest throughput
    (:mod:`zoo.bench.choice`)."""
    from zoo.bench.choice import best_latency_and_throughput, best_latency_and_throughput_text
    from zoo.bench.record import load_bench_records

    records = load_bench_records(student.spec.code)
    best = best_latency_and_throughput(records, student.model_id, student.revision)
    return best_latency_and_throughput_text(best) if best else None


def _bench_context(bench: list[BenchRow]) -> dict[str, Any]:
    teacher_sps = {
        (b.variant, b.hardware): b.record["scores"].get("sentences_per_s")
        for b in bench
        if b.who == "teacher"
    }
    rows = []
    for b in bench:
        sc = b.record.get("scores") or {}
        ci = sc.get("sentences_per_s_ci95")
        sps = sc.get("sentences_per_s")
        t_sps = teacher_sps.get((b.variant, b.hardware))
        rows.append(
            {
                "who": b.who,
                "model": b.record["model"].get("id"),
                "runtime": b.variant,
                "sps": f"{sps:,.1f}" if is_num(sps) else NOT_RECORDED,
                "sps_ci": f"{ci[0]:,.1f}–{ci[1]:,.1f}"
                if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(is_num(c) for c in ci)
                else "–",
                "tps": f"{sc['tokens_per_s']:,.0f}" if is_num(sc.get("tokens_per_s")) else NOT_RECORDED,
                "p50": f"{sc['latency_p50_ms']:.1f}" if is_num(sc.get("latency_p50_ms")) else NOT_RECORDED,
                "p95": f"{sc['latency_p95_ms']:.1f}" if is_num(sc.get("latency_p95_ms")) else NOT_RECORDED,
                "memory": f"{sc['peak_memory_mb']:,.0f}"
                if is_num(sc.get("peak_memory_mb"))
                else NOT_RECORDED,
                "energy": energy_text(b.record),
                "speedup": f"{sps / t_sps:.1f}×"
                if b.who == "student" and is_num(sps) and is_num(t_sps) and t_sps
                else "–",
                "hardware": b.hardware,
            }
        )
    return {"bench_rows": rows, "any_bench": bool(rows)}


def citation() -> str:
    """BibTeX for the TiME paper (no DOI is given: none is known here)."""
    return (
        "@misc{schulmeister2025time,\n"
        "  title  = {TiME: Tiny Monolingual Encoders for Efficient NLP Pipelines},\n"
        "  author = {Schulmeister and others},\n"
        "  year   = {2025}\n"
        "}"
    )


def card_context(student: Student, org: str = "time") -> tuple[Any, dict[str, Any]]:
    """The ModelCardData and the template variables of a student's card."""
    spec = student.spec
    tasks = collect_eval(student)
    bench = collect_bench(student)
    licence = student_licence(spec, student.corpus_files)
    shape = SIZES[student.size]
    params = student.params()
    repos = repo_ids(spec, student.size, org)
    stamp = current_stamp(student, org, tasks, bench)
    ctx: dict[str, Any] = {
        "model_id": student.model_id,
        "lang": spec.code,
        "lang_name": spec.name,
        "size": student.size,
        "layers": student.config.get("num_hidden_layers", shape.layers),
        "hidden": student.config.get("hidden_size", shape.hidden),
        "heads": student.config.get("num_attention_heads", shape.heads),
        "ffn": student.config.get("intermediate_size", shape.ffn),
        "max_positions": student.config.get("max_position_embeddings", NOT_RECORDED),
        "revision": student.revision,
        "org": org,
        "repos": repos,
        "main_repo": repos[0],
        "size_repo": f"{org}/{student.model_id}",
        "recommended": student.recommended,
        "recommended_size": spec.recommended_size,
        "students_why": " ".join(spec.students_why.split()),
        "lang_why": " ".join(spec.why.split()),
        "teacher_why": " ".join(spec.teacher_why.split()),
        "corpus_why": " ".join(spec.corpus_why.split()),
        "params_total": fmt_millions(params.get("total")),
        "params_embedding": fmt_millions(params.get("embedding")),
        "params_encoder": fmt_millions(params.get("encoder")),
        "embedding_share": f"{100 * params['embedding'] / params['total']:.0f} %"
        if is_num(params.get("total")) and params.get("total") and is_num(params.get("embedding"))
        else NOT_RECORDED,
        "vocab_size": fmt_int(student.config.get("vocab_size")),
        "has_pooler": student.has_pooler,
        "has_mlm_head": "BertForMaskedLM" in (student.config.get("architectures") or []),
        "licence": licence.id,
        "licence_reason": licence.reason,
        "licence_sources": licence.sources,
        "licence_nc": licence.nc,
        "corpus_assumed": licence.assumed,
        "licence_unknown": licence.unknown,
        "citation": citation(),
        "summary": stamp["summary"],
        "stamp": stamp_comment(stamp),
        **_distillation_context(student, licence),
        **_eval_context(tasks),
        **_bench_context(bench),
        "best_runtime": _best_runtime(student),
    }
    return _card_data(student, tasks, licence), ctx


def render_card(student: Student, org: str = "time", template: Path = TEMPLATE) -> str:
    """The card (README.md text) of a student, rendered through ``huggingface_hub.ModelCard``."""
    from huggingface_hub import ModelCard

    if not template.is_file():
        raise ZooError(f"card template not found: {template}")
    data, ctx = card_context(student, org)
    card = ModelCard.from_template(data, template_path=str(template), **ctx)
    return str(card).rstrip("\n") + "\n"


def write_card(
    lang: str, size: str | None = None, model_dir: str | Path | None = None, org: str = "time"
) -> Path:
    """Render the card and write it atomically to ``<model dir>/README.md``; return the path."""
    student = locate_student(lang, size, model_dir)
    return write_text_atomic(student.path / "README.md", render_card(student, org))
