"""The distillation entry point: ``zoo distill`` and ``python -m zoo.distill`` (``accelerate launch``).

One call: prepare the teacher, corpus, vocabulary and student (:mod:`zoo.distill.prepare`), train with
:class:`DistillationTrainer` (resuming from the last checkpoint of the run directory,
:mod:`zoo.distill.checkpoints`), add a masked-LM head to the best checkpoint with its encoder frozen
(:mod:`zoo.distill.mlm_head`; preset field ``mlm_head_steps``), and publish it atomically as a student
directory that ``AutoModel``, ``AutoModelForMaskedLM`` and ``AutoTokenizer`` load with no project code, with
its ``distillation.json``
(:class:`~zoo.distill.record.DistillationRecord`). Under ``accelerate launch``/``torchrun`` every process
runs this same function; the main process prepares shared files first and alone writes checkpoints and the
student.

Run state (checkpoints, logs) lives in ``work_dir()/runs/distill/<student dir name>/``, never in the
published student directory.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import shutil
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from zoo.distill import prepare as prep_mod
from zoo.distill.checkpoints import (
    LOG_HISTORY_FILE,
    SESSIONS_FILE,
    checkpoint_step,
    last_checkpoint,
    restore_finished_run,
)
from zoo.distill.prepare import BuiltStudent, Job, Prepared, say
from zoo.distill.record import (
    FILE_NAME,
    CorpusPart,
    DistillationRecord,
    EnvironmentPart,
    LossPart,
    Params,
    PresetPart,
    StudentPart,
    TeacherPart,
    TrainingPart,
    VocabPart,
)


def distill(
    lang: str,
    size: str,
    preset: str = "cpu",
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    teacher: str | None = None,
    online: bool = False,
    force: bool = False,
    restart: bool = False,
) -> Path:
    """Distil the ``size`` student of ``lang`` and return its directory (the main process writes it).

    ``teacher`` is any Hub id or local checkpoint (default: the language's offline teacher, or its online
    one with ``online``); ``overrides`` change preset fields; ``force`` replaces a finished student;
    ``restart`` discards the run's checkpoints instead of resuming from the last one.
    """
    from transformers import AutoTokenizer

    from zoo.distill.trainer import training_arguments
    from zoo.fileio import exclusive_lock

    t_start = time.monotonic()
    job = prep_mod.make_job(lang, size, preset, overrides, out, teacher, online, force)
    args = training_arguments(job.preset, job.run_dir)
    main = args.process_index == 0
    lock = exclusive_lock(job.run_dir / ".lock", what=f"the run directory {job.run_dir}") if main else None
    with lock or nullcontext():
        with args.main_process_first(desc="prepare teacher, corpus and vocabulary", local=False):
            prep = prep_mod.prepare(job, main, restart)
        s_tok = AutoTokenizer.from_pretrained(str(prep.tok_dir))
        check = prep_mod.check_student_tokenizer(job, prep, s_tok, main)
        student = prep_mod.build_student(job, prep, s_tok, main)
        trainer = _train(job, prep, student, s_tok, args, main)
        train_s = time.monotonic() - t_start
        head = None
        if job.preset.mlm_head_steps:
            from zoo.distill.mlm_head import add_mlm_head

            head = add_mlm_head(job, prep, trainer.model, s_tok, main)
        if not trainer.is_world_process_zero():
            return job.out_dir
        record = _record(job, prep, student, check, trainer, args, train_s)
        if head is not None:
            record.mlm_head = head.part
        _write_student(head.model if head else trainer.model, prep.tok_dir, record, job.out_dir)
        say(f"student written to {job.out_dir}")
    return job.out_dir


def _train(job: Job, prep: Prepared, student: BuiltStudent, s_tok, args, main: bool):
    """Train from the last complete checkpoint (or from scratch); returns the Trainer at its final state with
    the best checkpoint's weights loaded."""
    from zoo.distill.trainer import DistillationCollator, DistillationTrainer, SessionLogCallback

    last = last_checkpoint(job.run_dir)
    args.eval_on_start = last is None
    if last:
        say(f"resuming from {last}", main)
    rank_log = job.run_dir / f"rank{args.process_index}.jsonl" if job.preset.log_ranks else None
    if rank_log is not None and last is None:
        rank_log.unlink(missing_ok=True)
    resumed_step = checkpoint_step(last) or 0
    sessions = SessionLogCallback(job.run_dir / SESSIONS_FILE, resumed_step) if main else None
    trainer = DistillationTrainer(
        model=student.model,
        args=args,
        train_dataset=prep.corpus.train,
        eval_dataset=prep.corpus.heldout,
        data_collator=DistillationCollator(
            prep.vocab.lookup(s_tok.unk_token_id), prep.t_tok.pad_token_id, s_tok.pad_token_id
        ),
        processing_class=s_tok,
        callbacks=[sessions] if sessions else None,
        teacher=prep.t_model,
        teacher_layer=prep.layer,
        relation_heads=prep.heads,
        rank_log=rank_log,
    )
    if last is not None and resumed_step >= job.preset.max_steps:
        say(f"the run finished at step {resumed_step}; publishing its best checkpoint", main)
        restore_finished_run(trainer, last, job.run_dir)
        if sessions is not None:
            sessions.on_train_end(args, trainer.state, None)
    else:
        trainer.train(resume_from_checkpoint=str(last) if last else None)
    return trainer


def _record(
    job: Job, prep: Prepared, student: BuiltStudent, check, trainer, args, elapsed_s: float
) -> DistillationRecord:
    """The student's ``distillation.json`` (main process, after training); also saves the log history."""
    import torch

    from zoo import models
    from zoo.distill.student import UNTRAINED_PARAMETERS
    from zoo.fileio import write_json_atomic
    from zoo.results import environment

    state, shape, p, info = trainer.state, job.shape, job.preset, prep.t_info
    write_json_atomic(job.run_dir / LOG_HISTORY_FILE, state.log_history)
    sessions = json.loads((job.run_dir / SESSIONS_FILE).read_text(encoding="utf-8"))
    hub = [dataclasses.asdict(h) for h in job.spec.corpus_hub] if job.corpus_source == "hub" else []
    return DistillationRecord(
        student=StudentPart(
            id=models.student_id(job.lang, job.size),
            lang=job.lang,
            size=job.size,
            layers=shape.layers,
            hidden=shape.hidden,
            heads=shape.heads,
            ffn=shape.ffn,
            vocab_size=prep.vocab.size,
            max_position_embeddings=student.model.config.max_position_embeddings,
            params=Params(**student.params),
            embedding_init=student.embedding_init,
            untrained_parameters=UNTRAINED_PARAMETERS,
        ),
        teacher=TeacherPart(
            id=job.teacher_id,
            revision=info["revision"],
            layer=prep.layer,
            layers=info["num_layers"],
            hidden=info["hidden"],
            relation_heads=prep.heads,
            relation_heads_requested=prep.heads_requested,
        ),
        loss=LossPart.minilm_v2(student_layer=shape.layers),
        corpus=CorpusPart.from_meta(prep.corpus.meta, job.corpus_source, hub, job.data_root),
        vocab=VocabPart(**prep.vocab.stats(), verification=check),
        training=TrainingPart.from_state(state, args.world_size, sessions, elapsed_s),
        preset=PresetPart(name=p.name, values=p.as_dict(), overrides=job.overrides),
        environment=EnvironmentPart.from_env(
            environment(), torch.get_num_threads(), str(args.device), p.bf16
        ),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def _write_student(model, tok_dir: Path, record: DistillationRecord, out_dir: Path) -> None:
    """The student directory, atomically: weights (``BertForMaskedLM`` with the pooler, or ``BertModel``
    without a head), config, tokenizer files, id map, ``distillation.json``."""
    from zoo.fileio import atomic_dir

    with atomic_dir(out_dir, overwrite=True) as tmp:
        model.save_pretrained(tmp)
        for f in tok_dir.iterdir():
            shutil.copy2(f, tmp / f.name)
        record.write(tmp / FILE_NAME)
