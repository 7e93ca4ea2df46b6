"""``zoo lm-eval``: score one model zero-shot on a language's lm-eval tasks; one result record per task.

The task YAMLs are generated from the registry (:mod:`zoo.harness.tasks`) into a folder, and lm-eval's
``simple_evaluate`` runs each task with the ``time-mlm`` model type (masked LMs: students, XLM-R, any
``AutoModelForMaskedLM``) or lm-eval's ``hf`` (causal LMs). Records have the preset ``lm-eval-zero-shot``
(``+limit=N`` when only the first N examples were scored) and the protocol "lm-eval zero-shot": no
training; every label's text is scored and the best-scoring one is the prediction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import UsageError
from zoo.harness.tasks import HarnessTask, harness_tasks, write_tasks
from zoo.models import ModelRef, count_parameters, resolve_model
from zoo.paths import work_dir
from zoo.registry import LanguageSpec
from zoo.results import RecordKey, find_record, make_record, save_record

PRESET = "lm-eval-zero-shot"
PROTOCOL = "lm-eval zero-shot"
LM_MODELS = ("time-mlm", "hf")


def default_tasks_dir(lang: str) -> Path:
    """Where ``zoo lm-eval`` writes a language's task YAMLs: ``<work>/lm-eval/tasks/<lang>``."""
    return work_dir() / "lm-eval" / "tasks" / lang


def preset_name(limit: int | None) -> str:
    """``lm-eval-zero-shot``, or ``lm-eval-zero-shot+limit=N``: a subset's records never mix with the whole
    split's (the ``<preset>+key=value`` naming of ``--set``)."""
    return PRESET if limit is None else f"{PRESET}+limit={limit}"


def load_lm(ref: ModelRef, lm_model: str, device: str | None = None, max_tokens: int = 8192):
    """The lm-eval ``LM`` for a resolved model and its parameter counts (encoder, as every record counts)."""
    import torch

    if lm_model not in LM_MODELS:
        raise UsageError(f"unknown --lm-model '{lm_model}'", hint=f"one of {', '.join(LM_MODELS)}")
    if not ref.has_weights or ref.role in ("peer", "shape-baseline"):
        raise UsageError(f"{ref.id} ({ref.role}) has no language model to score",
                         hint="give a student, the teacher, a random-init twin, a directory or a Hub id")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    random_init = bool(ref.config_from or ref.config is not None)
    if lm_model == "hf":
        if random_init or not ref.path:
            raise UsageError(f"--lm-model hf needs a checkpoint; {ref.id} has random weights")
        from lm_eval.models.huggingface import HFLM

        lm = HFLM(pretrained=ref.path, device=device, batch_size=8)
        return lm, count_parameters(lm.model)
    from zoo.harness.model import TimeMLM

    if random_init:  # a random-init twin: the student's architecture and a random MLM head, seed 0
        from transformers import AutoModelForMaskedLM

        torch.manual_seed(0)
        model = AutoModelForMaskedLM.from_config(ref.load_config())
        lm = TimeMLM(pretrained=model, tokenizer=ref.load_tokenizer(), device=device, max_tokens=max_tokens)
    else:
        lm = TimeMLM(pretrained=ref.path, tokenizer=ref.tokenizer, device=device, max_tokens=max_tokens)
    return lm, count_parameters(lm.model.base_model)


def _task_part(task: HarnessTask, preset: str) -> dict[str, Any]:
    spec = task.spec
    return {"name": spec.name, "version": spec.version, "family": spec.family, "split": task.split,
            "main_metric": spec.main_metric, "preset": preset, "protocol": PROTOCOL}


def _record(spec: LanguageSpec, ref: ModelRef, params: dict, task: HarnessTask, preset: str,
            result: dict, details: dict[str, Any], wall: float) -> dict[str, Any]:
    import lm_eval

    row = result["results"][task.name]
    n = result.get("n-samples", {}).get(task.name, {})
    stderr = row.get("acc_stderr,none")
    scores = {"accuracy": 100.0 * float(row["acc,none"]), "macro_f1": 100.0 * float(row["f1,none"])}
    details = {
        "harness": "lm-eval", "lm_eval_version": lm_eval.__version__, "lm_eval_task": task.name,
        "prompt": {"source": task.prompt["source"], "doc_to_text": task.prompt["doc_to_text"],
                   "choices": task.prompt["choices"], "target_delimiter": " "},
        "num_fewshot": 0, "n_examples": n.get("effective"), "n_split": n.get("original"),
        "chance": task.chance,
        "stderr": {"accuracy": 100.0 * float(stderr)} if isinstance(stderr, float) else {},
        **details,
    }
    return make_record("eval", spec.code, ref.info(params), _task_part(task, preset), scores,
                       details=details, wall_time_s=round(wall, 3))


def run_harness(spec: LanguageSpec, model_arg: str, task_names: list[str] | None = None,
                limit: int | None = None, lm_model: str = "time-mlm", tasks_dir: Path | None = None,
                device: str | None = None, max_tokens: int = 8192, force: bool = False,
                say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Score ``model_arg`` (any ``--model`` value) on the language's lm-eval tasks and store the records;
    tasks whose record exists are skipped unless ``force``. Returns the records, stored or found."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    tasks = harness_tasks(spec, task_names)
    folder = write_tasks(tasks, tasks_dir or default_tasks_dir(spec.code))
    say(f"lm-eval tasks written to {folder}")
    refs = resolve_model(spec, model_arg)
    if len(refs) != 1:
        raise UsageError(f"--model {model_arg} names {len(refs)} models; give one")
    ref, preset = refs[0], preset_name(limit)
    revision = ref.revision()
    records, todo = [], []
    for t in tasks:
        key = RecordKey("eval", spec.code, ref.id, revision, t.spec.name, t.spec.version, preset=preset)
        found = None if force else find_record(key)
        if found:
            say(f"{ref.id} {t.name}: done already ({key.path()})")
            records.append(found)
        else:
            todo.append(t)
    if not todo:
        return records
    t0 = time.perf_counter()
    lm, params = load_lm(ref, lm_model, device, max_tokens)
    load_s = time.perf_counter() - t0
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    for t in todo:
        t0 = time.perf_counter()
        # num_fewshot left unset: lm-eval then uses 0 for tasks without their own default (ours have none)
        result = simple_evaluate(model=lm, tasks=[t.name], task_manager=manager, limit=limit,
                                 log_samples=False, bootstrap_iters=1000)
        wall = time.perf_counter() - t0
        details = {"lm_model": lm_model, "scoring": _scoring(lm_model), "limit": limit,
                   "tasks_dir": str(folder), "device": str(lm.device),
                   "time_s": {"load": round(load_s, 3), "evaluate": round(wall, 3)}}
        if lm_model == "time-mlm":
            details["max_tokens"] = max_tokens
        record = _record(spec, ref, params, t, preset, result, details, wall)
        path = save_record(record, force=force)
        say(f"{ref.id} {t.name}: accuracy {record['scores']['accuracy']:.1f} (chance {t.chance:.1f}), "
            f"macro-F1 {record['scores']['macro_f1']:.1f}, {wall:.0f} s -> {path}")
        records.append(record)
    return records


def _scoring(lm_model: str) -> str:
    if lm_model == "hf":
        return "causal-LM log-likelihood of each choice given the prompt (lm-eval hf)"
    from zoo.harness.model import SCORING

    return SCORING
