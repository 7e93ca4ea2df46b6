"""The CPU student's ablation (issue #14, item 6): initialisation x loss at one equal wall-clock budget.

Each row is one ``zoo distill`` run of the language's ``--size`` student with the ``--preset`` recipe
(``cpu``: early stopping on the held-out loss, the schedule fitted to its wall-clock cap), the cap set to
``--minutes`` for every row, and only these fields changed:

| row | init_embeddings | init_layers | hidden_loss_weight |
|---|---|---|---|
| ``random-rel`` / ``random-hid`` | random | random | 0 / 1 |
| ``emb-rel`` / ``emb-hid`` | teacher | random | 0 / 1 |
| ``layers-rel`` / ``layers-hid`` | teacher | teacher | 0 / 1 |

(``layers-*`` need a student as wide as the teacher: xs/s with the offline teacher.) ``--distill-set
FIELD=VALUE`` changes another preset field for every row alike (e.g. ``mlm_head_steps=0``: no MLM head,
which the scores do not use); the rows' own fields and the cap are the ablation's and cannot be set so.
Students go to ``<study>/students/abl-<lang>-<size>-<row>`` and are scored by ``zoo eval``'s runner under
``--eval-preset`` (default ``standard``) on ``--tasks`` with ``--seeds`` seeds (``--jobs N|auto``: runs at
once, as ``zoo eval``'s); their records go to ``<study>/results``: the study is its own work directory, so
its students stay off the language's cards and leaderboard. With ``--with-init`` each initialisation's
student *before* distillation (``<student>/init``) is scored too.

The table (printed, and written to ``<study>/ablation.md``): why each run stopped and at which step, its
distillation wall time, the best held-out **relation** loss (the term every row shares; the ``hid`` rows'
total adds the hidden-state MSE), and each task's score with its retention of the teacher's, the teacher
and the constant baseline read from the language's own results store (``--reference-work-dir``, default
``ZOO_WORK_DIR``) and the ratio computed by :func:`zoo.results.select.retention`, as every view does.

Resumable: a finished student is kept, a killed distillation resumes from its last checkpoint, finished
evaluation runs are skipped. Run::

    python scripts/ablation.py --lang xh --size xs --minutes 20 --tasks masakhapos,masakhaner --seeds 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROWS: dict[str, dict[str, Any]] = {
    "random-rel": {"init_embeddings": "random", "init_layers": "random", "hidden_loss_weight": 0.0},
    "random-hid": {"init_embeddings": "random", "init_layers": "random", "hidden_loss_weight": 1.0},
    "emb-rel": {"init_embeddings": "teacher", "init_layers": "random", "hidden_loss_weight": 0.0},
    "emb-hid": {"init_embeddings": "teacher", "init_layers": "random", "hidden_loss_weight": 1.0},
    "layers-rel": {"init_embeddings": "teacher", "init_layers": "teacher", "hidden_loss_weight": 0.0},
    "layers-hid": {"init_embeddings": "teacher", "init_layers": "teacher", "hidden_loss_weight": 1.0},
}
INIT_LABELS = {"random": "random", "emb": "teacher embeddings", "layers": "teacher embeddings + layers"}
LOSS_LABELS = {"rel": "relations", "hid": "relations + hidden state"}


@dataclass
class Study:
    """Where one ablation lives and what it runs."""

    lang: str
    size: str
    root: Path
    minutes: float
    preset: str = "cpu"
    distill_sets: dict[str, str] = field(default_factory=dict)  # fields every row shares (--distill-set)

    def student_dir(self, row: str) -> Path:
        return self.root / "students" / self.model_id(row)

    def model_id(self, row: str) -> str:
        return f"abl-{self.lang}-{self.size}-{row}"

    def init_id(self, init: str) -> str:
        """The id of the student of initialisation ``init`` (random, emb, layers) before distillation."""
        return f"abl-{self.lang}-{self.size}-{init}-init"

    def overrides(self, row: str) -> dict[str, str]:
        """The preset fields a row sets (``--set`` values): the shared ``--distill-set`` fields, then the
        row's initialisation, its loss and the cap."""
        values = {**self.distill_sets, **ROWS[row], "max_wall_s": self.minutes * 60}
        return {k: str(v) for k, v in values.items()}


ROW_FIELDS = (*ROWS["random-rel"], "max_wall_s")  # what the ablation varies or equalises: not --distill-set's


def parse_distill_sets(items: list[str]) -> dict[str, str]:
    """``--distill-set FIELD=VALUE`` items -> fields; a field of the rows (or the cap) is a usage error."""
    from zoo.errors import UsageError
    from zoo.overrides import parse_sets

    sets = parse_sets(items)
    if taken := [k for k in sets if k in ROW_FIELDS]:
        raise UsageError(
            f"--distill-set {taken[0]}: the ablation's rows set this field",
            hint=f"the rows vary {', '.join(ROW_FIELDS[:-1])}, and --minutes sets max_wall_s for every row",
        )
    return sets


def parse_rows(text: str | None) -> list[str]:
    """``"emb-rel,layers-hid"`` -> row names (all rows when empty); unknown names are a usage error."""
    from zoo.errors import UsageError, did_you_mean

    names = [r.strip() for r in (text or "").split(",") if r.strip()] or list(ROWS)
    for name in names:
        if name not in ROWS:
            guess = did_you_mean(name, list(ROWS))
            hint = f"did you mean '{guess}'? " if guess else ""
            raise UsageError(f"unknown ablation row '{name}'", hint=f"{hint}rows: {', '.join(ROWS)}")
    return list(dict.fromkeys(names))


def distill_row(study: Study, row: str, teacher: str | None = None) -> Path:
    """Distil one row's student (kept when finished, resumed when interrupted); its directory."""
    from zoo.distill.presets import get_preset
    from zoo.distill.run import distill

    out = study.student_dir(row)
    if (out / "distillation.json").is_file():
        record = json.loads((out / "distillation.json").read_text(encoding="utf-8"))
        values, wanted = record["preset"]["values"], get_preset(study.preset, study.overrides(row))
        for name in study.overrides(row):
            now = json.loads(json.dumps(getattr(wanted, name)))  # tuples as lists, as the record stores them
            if values.get(name) != now:
                print(f"note: {out} was distilled with {name}={values.get(name)!r}, not {now!r}; it is kept "
                      "(delete the folder to distil it again)")  # fmt: skip
        return out
    return distill(study.lang, study.size, preset=study.preset, overrides=study.overrides(row), out=out,
                   teacher=teacher)  # fmt: skip


def row_models(study: Study, rows: list[str], with_init: bool) -> list:
    """The models to score: each row's student, and with ``with_init`` each initialisation's student before
    distillation (one per initialisation: rows that differ only in the loss start from the same weights)."""
    from zoo.models import ModelRef

    models, inits = [], {}
    for row in rows:
        out = study.student_dir(row)
        models.append(ModelRef(id=study.model_id(row), role="model", path=str(out), size=study.size))
        init = row.split("-")[0]
        if with_init and init not in inits and (out / "init").is_dir():
            inits[init] = ModelRef(id=study.init_id(init), role="model",
                                   path=str(out / "init"), size=study.size)  # fmt: skip
    return models + list(inits.values())


def _by_model(summary: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{task: {model id: the model's summary}} of :func:`zoo.results.tables.summarize` rows."""
    return {row["task"]: {m["id"]: m for m in row["models"]} for row in summary}


def _score_cell(m: dict[str, Any] | None, teacher: dict[str, Any] | None, floor: float | None) -> str:
    """:func:`zoo.results.tables.score_cell`, and the retention of the teacher's score where there is one."""
    from zoo.results.select import retention, retention_text
    from zoo.results.tables import score_cell

    if m is None or m["mean"] is None:
        return "–"
    ret = retention(m["mean"], teacher, floor)
    return score_cell(m) + (f", {retention_text(ret)}" if ret["status"] != "no teacher" else "")


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def distillation_cells(path: Path) -> tuple[str, str, str]:
    """(why and where the run stopped, its wall time, its best held-out relation loss) of a distillation.json;
    "not run" while the file is missing."""
    if not path.is_file():
        return "not run", "–", "–"
    rec = json.loads(path.read_text(encoding="utf-8"))
    training = rec["training"]
    curve = training.get("heldout_relation_loss_curve") or training["heldout_loss_curve"]
    step, best = min(curve, key=lambda p: p[1])
    stop = rec.get("stopping") or {}
    stopped = f"{stop.get('stop_reason', '?')} at step {stop.get('step', training['steps'])}"
    return stopped, f"{training['wall_time_s'] / 60:.1f} min", f"{best:.3f} (step {step})"


def table(study: Study, rows: list[str], tasks: list[str], eval_preset: str,
          reference: Path | None) -> str:  # fmt: skip
    """The ablation table as markdown, from the rows' ``distillation.json`` and the stored eval records."""
    from zoo.registry import get_language
    from zoo.results.tables import load_summary

    spec = get_language(study.lang)
    ours = _by_model(load_summary(study.lang, spec, eval_preset, root=study.root / "results"))
    ref = _by_model(load_summary(study.lang, spec, eval_preset, root=reference)) if reference else {}
    teachers = {t: next((m for m in ref.get(t, {}).values() if m["role"] == "teacher"), None) for t in tasks}
    floors = {t: next((m["mean"] for m in ref.get(t, {}).values() if m["role"] == "constant-baseline"), None)
              for t in tasks}  # fmt: skip
    head = [
        "row",
        "initialisation",
        "loss",
        "stopped",
        "distillation wall time",
        "best held-out relation loss",
    ]
    lines = [_line(head + tasks), "|" + "---|" * (len(head) + len(tasks))]
    for row in rows:
        init, loss = row.split("-")
        stopped, wall, loss_cell = distillation_cells(study.student_dir(row) / "distillation.json")
        cells = [_score_cell(ours.get(t, {}).get(study.model_id(row)), teachers[t], floors[t]) for t in tasks]
        lines.append(_line([row, INIT_LABELS[init], LOSS_LABELS[loss], stopped, wall, loss_cell, *cells]))
    for init in dict.fromkeys(r.split("-")[0] for r in rows):
        if any(study.init_id(init) in ours.get(t, {}) for t in tasks):
            cells = [
                _score_cell(ours.get(t, {}).get(study.init_id(init)), teachers[t], floors[t]) for t in tasks
            ]
            lines.append(_line([f"{init} (before distillation)", INIT_LABELS[init], *["–"] * 4, *cells]))
    if any(teachers.values()):
        lines.append(_line(["teacher", *[""] * 5, *[_score_cell(teachers[t], None, None) for t in tasks]]))
    if any(f is not None for f in floors.values()):
        cells = [f"{floors[t]:.1f}" if floors[t] is not None else "–" for t in tasks]
        lines.append(_line(["constant baseline", *[""] * 5, *cells]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="xh")
    parser.add_argument("--size", default="xs")
    parser.add_argument(
        "--minutes", type=float, default=20.0, help="wall-clock cap of every row's distillation"
    )
    parser.add_argument("--preset", default="cpu", help="distillation preset of every row")
    parser.add_argument(
        "--rows", default=None, help=f"comma-separated rows (default: all of {', '.join(ROWS)})"
    )
    parser.add_argument("--tasks", default="masakhapos,masakhaner")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--eval-preset", default="standard")
    parser.add_argument("--set", dest="eval_sets", action="append", default=[], help="eval preset field")
    parser.add_argument("--teacher", default=None, help="teacher of every row (default: the language's)")
    parser.add_argument(
        "--distill-set",
        dest="distill_sets",
        action="append",
        default=[],
        help="distillation preset field for every row, e.g. mlm_head_steps=0",
    )
    parser.add_argument("--jobs", default="1", help="fine-tuning runs at once: a number or auto (zoo eval's)")
    parser.add_argument(
        "--with-init", action="store_true", help="also score each initialisation, undistilled"
    )
    parser.add_argument(
        "--study",
        type=Path,
        default=None,
        help="the study's work directory (default: <ZOO_WORK_DIR>/ablation/<lang>-<size>)",
    )
    parser.add_argument(
        "--reference-work-dir",
        type=Path,
        default=None,
        help="work directory holding the teacher's and constant baseline's records",
    )
    parser.add_argument(
        "--table-only", action="store_true", help="print the table of what has run, run nothing"
    )
    args = parser.parse_args(argv)

    from zoo.errors import ZooError
    from zoo.paths import work_dir

    try:
        return _run(args, work_dir())
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


@contextmanager
def study_work_dir(root: Path) -> Iterator[None]:
    """``ZOO_WORK_DIR`` set to the study's folder for the duration (restored after)."""
    before = os.environ.get("ZOO_WORK_DIR")
    os.environ["ZOO_WORK_DIR"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ZOO_WORK_DIR", None)
        else:
            os.environ["ZOO_WORK_DIR"] = before


def _run(args: argparse.Namespace, main_work: Path) -> int:
    from zoo.evaluation.jobs_probe import parse_jobs
    from zoo.evaluation.presets import get_preset, parse_overrides
    from zoo.evaluation.progress import PlainListener
    from zoo.evaluation.runner import evaluate, parse_tasks
    from zoo.fileio import write_text_atomic
    from zoo.registry import get_language

    spec = get_language(args.lang)
    rows = parse_rows(args.rows)
    jobs, distill_sets = parse_jobs(args.jobs), parse_distill_sets(args.distill_sets)
    tasks = parse_tasks(spec, args.tasks)
    recipe = parse_overrides(get_preset(args.eval_preset), args.eval_sets)
    root = (args.study or main_work / "ablation" / f"{args.lang}-{args.size}").resolve()
    study = Study(args.lang, args.size, root, args.minutes, args.preset, distill_sets)
    reference = (args.reference_work_dir or main_work).resolve() / "results"
    if not args.table_only:
        with study_work_dir(root):  # the study's records and students stay in its own work dir
            for row in rows:
                print(
                    f"== {row}: zoo distill --lang {args.lang} --size {args.size} --preset {args.preset} "
                    + " ".join(f"--set {k}={v}" for k, v in study.overrides(row).items()),
                    flush=True,
                )
                distill_row(study, row, args.teacher)
            models = row_models(study, rows, args.with_init)
            evaluate(spec, models, tasks, range(args.seeds), recipe, listener=PlainListener(print), jobs=jobs)
    text = table(study, rows, [t.name for t in tasks], recipe.name, reference)
    if not args.table_only:
        write_text_atomic(root / "ablation.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
