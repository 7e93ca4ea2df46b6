"""``zoo languages`` and ``zoo info``: what the registry knows and which local files exist."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from zoo.cli.app import app
from zoo.paths import data_dir
from zoo.registry import get_language, languages, spec_as_dict


def _corpus_words(files) -> int:
    words = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words += len(line.split())
    return words


@app.command("languages")
def languages_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the languages: code, name, tasks, local corpus words, teacher."""
    root = data_dir(required=False)
    rows = []
    for code, spec in languages().items():
        words = _corpus_words(spec.corpus_files(root)) if root else None
        rows.append(
            {
                "code": code,
                "name": spec.name,
                "tasks": list(spec.tasks),
                "corpus_words": words,
                "teacher": spec.teacher_online.id,
                "offline_teacher": spec.teacher_offline.id,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"TiME Zoo languages (data root: {root or 'not found'})")
    for col in ("code", "name", "tasks", "corpus words", "teacher (online / offline)"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["code"],
            r["name"],
            ", ".join(r["tasks"]) or "-",
            f"{r['corpus_words']:,}" if r["corpus_words"] is not None else "n/a",
            f"{r['teacher']} / {r['offline_teacher']}",
        )
    Console().print(table)


@app.command("info")
def info_cmd(
    lang: str = typer.Option(..., "--lang", "-l", help="Language code, e.g. xh."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Everything about one language: teacher, corpus files found, tasks and their files, student sizes."""
    spec = get_language(lang)
    root = data_dir(required=False)
    files = spec.corpus_files(root) if root else []
    task_files = {
        name: {
            split: {"path": rel, "found": bool(root and (root / rel).is_file())}
            for split, rel in t.local.items()
        }
        for name, t in spec.tasks.items()
    }
    if as_json:
        d = spec_as_dict(spec)
        d["data_root"] = str(root) if root else None
        d["corpus_files_found"] = [str(p) for p in files]
        d["task_files"] = task_files
        typer.echo(json.dumps(d, indent=2, default=str))
        return
    con = Console()
    con.print(f"[bold]{spec.name}[/bold] ({spec.code}, script {spec.script})  — {spec.source}")
    con.print(f"  {spec.why}")
    con.print(
        f"[bold]Teacher[/bold] online {spec.teacher_online.id} (layer {spec.teacher_online.layer}, "
        f"{spec.teacher_online.relation_heads} relation heads); offline {spec.teacher_offline.id} "
        f"(layer {spec.teacher_offline.layer}, {spec.teacher_offline.relation_heads} heads)"
    )
    con.print(f"[bold]Corpus[/bold] local globs {list(spec.corpus_local)} under {root or '(no data root)'}:")
    for p in files:
        con.print(f"  found {p}  ({_corpus_words([p]):,} words)")
    if root and not files:
        con.print("  [red]no local corpus files found[/red]")
    for h in spec.corpus_hub:
        con.print(f"  hub {h.id} config={h.config} revision={h.revision or 'unpinned'}")
    con.print(f"[bold]Students[/bold] sizes {', '.join(spec.sizes)} (recommended {spec.recommended_size})")
    table = Table(title="Tasks")
    for col in ("task", "family", "metric", "train / select / score", "local files", "hub"):
        table.add_column(col)
    for name, t in spec.tasks.items():
        found = ", ".join(f"{s}:{'ok' if v['found'] else 'MISSING'}" for s, v in task_files[name].items())
        table.add_row(
            name,
            t.family,
            t.main_metric,
            " / ".join(t.splits[r] for r in ("train", "select", "score")),
            found or "-",
            f"{t.hub.id} {t.hub.config or ''} @{(t.hub.revision or 'unpinned')[:7]}" if t.hub else "-",
        )
    con.print(table)
    for name, t in spec.tasks.items():
        if t.note:
            con.print(f"  note ({name}): {t.note}")
