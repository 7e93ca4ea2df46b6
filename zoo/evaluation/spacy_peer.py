"""A spaCy peer pipeline on a UD task: no fine-tuning; the published pipeline annotates the score split.

The score split is read as the fine-tuned UD heads read it (:func:`zoo.evaluation.splits.load_ud_split`,
capped by the preset's ``max_eval_examples`` to the same sentences), annotated on gold tokens and gold
sentences (:mod:`zoo.peers.spacy_conllu`), written as CoNLL-U (the gold file with only LEMMA, UPOS, XPOS,
FEATS, HEAD and DEPREL replaced, DEPS ``_``) and scored by the project's CoNLL 2018 scorer against the
gold file of the same sentences. The pipeline is deterministic: the runner plans seed 0 only. Other task
families raise a UsageError.
"""

from __future__ import annotations

import time
from pathlib import Path

from zoo.errors import UsageError
from zoo.evaluation.presets import EvalPreset
from zoo.evaluation.splits import load_ud_split
from zoo.evaluation.types import TaskRun
from zoo.evaluation.ud.task import write_and_score
from zoo.models import ModelRef
from zoo.peers.spacy_conllu import doc_columns, gold_doc
from zoo.peers.spacy_pipeline import check_language, has_xpos, load_pipeline, pipeline_details
from zoo.registry import TaskSpec

PIPE_BATCH = 64  # sentences per nlp.pipe batch (spaCy's default is 1000 for text; the result is the same)


def check_peer_task(model: ModelRef, task: TaskSpec) -> None:
    """A UsageError unless ``task`` is one a spaCy peer is scored on: UD, in the pipeline's language."""
    if task.family != "ud":
        raise UsageError(
            f"{model.id} on {task.key}: spaCy peers are scored on UD tasks only",
            hint="pick UD tasks with --tasks, e.g. --tasks sequoia",
        )
    check_language(model, task.lang)


def run_spacy_task(model: ModelRef, task: TaskSpec, seed: int, preset: EvalPreset, out_dir: Path) -> TaskRun:
    """Annotate the score split of a UD task with the spaCy pipeline; CoNLL 2018 scores in percent.
    ``seed`` is unused (the pipeline is deterministic)."""
    check_peer_task(model, task)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    full_score, score = load_ud_split(task, "score", preset)

    nlp = load_pipeline(model)
    xpos = has_xpos(nlp)
    t0 = time.perf_counter()
    docs = list(nlp.pipe((gold_doc(nlp.vocab, s) for s in score), batch_size=PIPE_BATCH))
    annotate_s = time.perf_counter() - t0
    columns = [doc_columns(doc, xpos) for doc in docs]

    pred_path, scores, subset = write_and_score(task, score, full_score, [c[0] for c in columns], out_dir)
    words = sum(len(s.words) for s in score)
    details = {
        **pipeline_details(model, nlp),
        "head": "spacy pipeline (not fine-tuned)",
        "preset": preset.name,
        "tokenisation": "gold",
        "sentence_segmentation": "gold (one Doc per gold sentence, sent_starts preset)",
        "extra_roots_attached": sum(c[1] for c in columns),
        "split_sizes": {"score": len(score), "score_available": len(full_score)},
        "words": {"score": words},
        "annotate_time_s": round(annotate_s, 3),
        "annotate_words_per_s": round(words / annotate_s, 1) if annotate_s > 0 else None,
        "pipe_batch_size": PIPE_BATCH,
    }
    return TaskRun(scores=scores, details=details, predictions=pred_path, gold=subset)
