"""lm-eval task YAMLs generated from the registry: the sentence-level tasks with local data, zero-shot.

Each task of family ``nli``, ``rte`` or ``topic`` whose scored split is a local file becomes
``zoo_<task>_<lang>.yaml``, read by the ``datasets`` "json"/"csv" builders from the data root (no Hub), in
the prompt formats lm-eval's own tasks use:

- NLI and RTE: lm-eval's ``xnli`` format, ``premise + ", <right>? <yes|also|no>, " + hypothesis`` scored as
  one text per label (the ``xnli_<lang>`` words; isiXhosa: ``afrixnli_native_direct_xho``). lm-eval has no
  Hungarian XNLI: HuRTE gets the format with Hungarian words of ours, said in its prompt source.
- Topics: lm-eval's (AfroBench) ``masakhanews`` prompt 1 on the headline, listing the task's own labels.

Every task reports ``acc`` and macro-averaged ``f1`` (``utils.macro_f1``, written beside the YAMLs). Pass
the folder to lm-eval with ``--include_path``; ``tag: zoo_<lang>`` runs a language's tasks together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from zoo.data.tasks import parse_split, task_labels
from zoo.errors import ConfigError, UsageError
from zoo.paths import data_dir
from zoo.registry import LanguageSpec, TaskSpec

FAMILIES = ("nli", "rte", "topic")

# lm-eval's xnli words: QUESTION_WORD, ENTAILMENT_LABEL, NEUTRAL_LABEL, CONTRADICTION_LABEL
# (lm_eval/tasks/xnli/utils.py; isiXhosa from lm_eval/tasks/afrixnli/utils.py, used by native-direct).
XNLI_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "en": ("right", "Yes", "Also", "No", "lm-eval xnli_en"),
    "de": ("richtig", "Ja", "Auch", "Nein", "lm-eval xnli_de"),
    "fr": ("correct", "Oui", "Aussi", "Non", "lm-eval xnli_fr"),
    "ur": ("صحیح", "جی ہاں", "اس لئے", "نہیں", "lm-eval xnli_ur"),
    "xh": ("Ichanekile", "Ewe", "Kananjalo", "Hayi", "lm-eval afrixnli_native_direct_xho"),
    "hu": ("igaz", "Igen", "Is", "Nem",
           "the lm-eval xnli format with Hungarian words of ours (lm-eval has no Hungarian XNLI)"),
}

MACRO_F1_PY = '''"""Aggregations of the tasks written by `zoo lm-eval` (zoo/harness/tasks.py); do not edit."""


def macro_f1(items):
    """Macro-averaged F1 over the classes seen in gold or predictions (zoo.evaluation.metrics.macro_f1)."""
    from sklearn.metrics import f1_score

    golds, preds = zip(*items)
    return f1_score(list(golds), list(preds), average="macro", zero_division=0)
'''


class _Function(str):
    """A YAML ``!function`` reference (lm-eval's tag for a Python callable beside the YAML)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Function, lambda d, v: d.represent_scalar("!function", str(v)))


@dataclass(frozen=True)
class HarnessTask:
    """One zoo task as an lm-eval task: its lm-eval name, the split it scores, the YAML and the prompt."""

    spec: TaskSpec
    name: str
    split: str
    config: dict[str, Any]
    prompt: dict[str, Any]

    @property
    def chance(self) -> float:
        """Accuracy of a uniform guess, in percent."""
        return 100.0 / len(self.prompt["choices"])


def task_name(task: TaskSpec) -> str:
    """The lm-eval task name of a zoo task: ``zoo_<task>_<lang>``."""
    return f"zoo_{task.name}_{task.lang}"


def _nli_prompt(task: TaskSpec) -> dict[str, Any]:
    fallback = f"the lm-eval xnli format with its English words (none for {task.lang})"
    question, yes, also, no, source = XNLI_WORDS.get(task.lang, (*XNLI_WORDS["en"][:4], fallback))
    word = {"entailment": yes, "neutral": also, "contradiction": no, "not_entailment": no}
    labels = list(task.labels or ("entailment", "neutral", "contradiction"))
    unknown = [x for x in labels if x not in word]
    if unknown:
        raise ConfigError(f"task {task.key}: no xnli word for label(s) {unknown}")
    middles = [f", {question}? {word[x]}, " for x in labels]
    parts = [f"premise+{json.dumps(m, ensure_ascii=False)}+hypothesis" for m in middles]
    choice = "{{[" + ",".join(parts) + "]}}"
    return {"source": source, "doc_to_text": "", "doc_to_target": "label", "doc_to_choice": choice,
            "choices": [f"{{premise}}{m}{{hypothesis}}" for m in middles]}


def _topic_prompt(task: TaskSpec) -> dict[str, Any]:
    labels = task_labels(task)
    listed = ", ".join(labels[:-1]) + f", or {labels[-1]}" if len(labels) > 1 else labels[0]
    text = f"Given the categories {listed}; what category does the text: '{{{{headline}}}}' belong to: \n\n"
    return {"source": "lm-eval afrobench masakhanews prompt_1, listing this task's labels",
            "doc_to_text": text, "doc_to_target": "category", "doc_to_choice": labels, "choices": labels}


def _data_files(task: TaskSpec, root: Path, names: list[str]) -> dict[str, str]:
    files = {}
    for name in names:
        if name in task.local and (root / task.local[name]).is_file():
            files[name] = str((root / task.local[name]).resolve())
    return files


def harness_task(task: TaskSpec, root: Path | None = None) -> HarnessTask:
    """The lm-eval task of a sentence-level zoo task with a local scored split."""
    if task.family not in FAMILIES:
        raise UsageError(f"{task.key} ({task.family}) is not a sentence-level task",
                         hint=f"lm-eval tasks exist for the families {', '.join(FAMILIES)}")
    root = root or data_dir()
    score, lo, hi = parse_split(task.splits["score"])
    if (lo, hi) != (0, 100):
        raise ConfigError(f"task {task.key}: lm-eval scores whole splits, not {task.splits['score']}")
    fewshot = parse_split(task.splits["train"])[0]
    files = _data_files(task, root, [score] + ([fewshot] if fewshot != score else []))
    if score not in files:
        raise UsageError(f"{task.key}: no local {score} file ({root / task.local.get(score, score)})",
                         hint="lm-eval tasks read the local data only; set ZOO_DATA_DIR")
    prompt = _topic_prompt(task) if task.family == "topic" else _nli_prompt(task)
    csv = task.format == "news-tsv"
    config: dict[str, Any] = {
        "task": task_name(task),
        "tag": [f"zoo_{task.lang}"],
        "dataset_path": "csv" if csv else "json",
        "dataset_kwargs": {"data_files": files, **({"delimiter": "\t"} if csv else {})},
        "output_type": "multiple_choice",
        "test_split": score,
        **({"fewshot_split": fewshot} if fewshot in files and fewshot != score else {}),
        "doc_to_text": prompt["doc_to_text"],
        "doc_to_target": prompt["doc_to_target"],
        "doc_to_choice": prompt["doc_to_choice"],
        "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
            {"metric": "f1", "aggregation": _Function("utils.macro_f1"), "higher_is_better": True},
        ],
        "metadata": {"version": task.version, "zoo_task": task.key, "prompt_source": prompt["source"]},
    }
    return HarnessTask(task, task_name(task), score, config, prompt)


def harness_tasks(spec: LanguageSpec, names: list[str] | None = None,
                  root: Path | None = None) -> list[HarnessTask]:
    """The lm-eval tasks of a language: ``names`` (zoo or lm-eval task names), else every sentence-level
    task with a local scored split."""
    if names:
        by_lm = {task_name(t): n for n, t in spec.tasks.items()}
        return [harness_task(spec.task(by_lm.get(n, n)), root) for n in names]
    out = []
    for task in spec.tasks.values():
        if task.family in FAMILIES:
            try:
                out.append(harness_task(task, root))
            except UsageError:
                continue  # no local file: skipped here, an error when asked for by name
    if not out:
        raise UsageError(f"{spec.code} has no sentence-level task with local data",
                         hint=f"lm-eval tasks exist for the families {', '.join(FAMILIES)}")
    return out


def write_tasks(tasks: list[HarnessTask], out_dir: Path) -> Path:
    """Write ``<name>.yaml`` for each task and ``utils.py`` into ``out_dir`` (for ``--include_path``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "utils.py").write_text(MACRO_F1_PY, encoding="utf-8")
    for t in tasks:
        head = (f"# Generated by `zoo lm-eval` from the registry ({t.spec.key}, version {t.spec.version}); "
                f"prompt: {t.prompt['source']}.\n# Regenerate instead of editing.\n")
        body = yaml.dump(t.config, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)
        (out_dir / f"{t.name}.yaml").write_text(head + body, encoding="utf-8")
    return out_dir
