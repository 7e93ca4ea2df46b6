"""The distillation entry point: ``zoo distill`` and ``python -m zoo.distill`` (``accelerate launch``).

One call: prepare the teacher, corpus, vocabulary and student (:mod:`zoo.distill.prepare`), choose the
numerics (:mod:`zoo.distill.numerics`), train with :class:`DistillationTrainer` until the step budget, a
plateau of the held-out loss or the wall-clock cap (:mod:`zoo.distill.stopping`; resuming from the last
checkpoint of the run directory, :mod:`zoo.distill.checkpoints`), add a masked-LM head to the best
checkpoint with its encoder frozen (:mod:`zoo.distill.mlm_head`; preset field ``mlm_head_steps``), and
publish it atomically as a student directory that ``AutoModel``, ``AutoModelForMaskedLM`` and
``AutoTokenizer`` load with no project code, with its ``distillation.json``
(:class:`~zoo.distill.record.DistillationRecord`), and beside it, in ``init/``, the student exactly as
initialised before any step (the init-only baseline, :data:`zoo.models.INIT_DIR`). Under
``accelerate launch`` or ``torchrun`` every process runs this same function; the main process prepares
shared files first and alone writes checkpoints and the student.

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
from zoo.distill import stopping
from zoo.distill.checkpoints import (
    LOG_HISTORY_FILE,
    SESSIONS_FILE,
    checkpoint_step,
    last_checkpoint,
    restore_finished_run,
)
from zoo.distill.hidden_loss import without_map
from zoo.distill.prepare import BuiltStudent, Job, Prepared, say
from zoo.distill.presets import Preset
from zoo.distill.record import (
    FILE_NAME,
    CorpusPart,
    DistillationRecord,
    EnvironmentPart,
    HiddenStateLoss,
    LossPart,
    NumericsPart,
    Params,
    PresetPart,
    StoppingPart,
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

    from zoo.distill.trainer import DistillationCollator, training_arguments
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
        collator = DistillationCollator(
            prep.vocab.lookup(s_tok.unk_token_id), prep.t_tok.pad_token_id, s_tok.pad_token_id
        )
        resuming = last_checkpoint(job.run_dir) is not None  # a resumed run keeps its numerics and budget
        numerics = _numerics(job, prep, student, collator, args, resuming)
        uncut = stopping.budget_steps(job.preset, len(prep.corpus.train), args.world_size)
        step_s = (numerics.probe_s_per_step or {}).get(numerics.chosen)
        budget, fit = stopping.fit_to_cap(
            job.preset, uncut, step_s, time.monotonic() - t_start, job.run_dir, resuming, main
        )
        # planned for the uncut budget, so that a refit may raise a cut one back; the fitted budget (the uncut
        # one where nothing is fitted) is set when training begins (stopping.BudgetRefit)
        args = training_arguments(job.preset, job.run_dir, bf16=numerics.chosen == "bf16", max_steps=uncut)
        say(_plan(job.preset, budget, len(prep.corpus.train), args.world_size, numerics, fit), main)
        refit = stopping.RefitPlan(uncut, job.run_dir, main, fit, budget=budget)
        trainer, wall_s = _train(job, prep, student, s_tok, collator, args, main, t_start, budget, refit)
        if note := _refit_note(trainer):
            budget, fit = trainer.state.max_steps, note
        train_s = time.monotonic() - t_start
        with without_map(trainer.model) as encoder:  # the hidden-state map is never published
            head = None
            if job.preset.mlm_head_steps:
                from zoo.distill.mlm_head import add_mlm_head

                head = add_mlm_head(job, prep, encoder, s_tok, main, bf16=numerics.chosen == "bf16")
            if not trainer.is_world_process_zero():
                return job.out_dir
            stop = _stopping(job, trainer, budget, wall_s).model_copy(update={"budget_fit": fit})
            say(f"stopped ({stop.stop_reason}) at step {stop.step}", main)
            record = _record(job, prep, student, check, trainer, args, train_s)
            update = {"stopping": stop, "numerics": numerics, "mlm_head": head.part if head else None}
            record = record.model_copy(update=update)
            _write_student(encoder, head.model if head else None, student, prep.tok_dir, record, job.out_dir)
        say(f"student written to {job.out_dir}")
    return job.out_dir


def _numerics(
    job: Job, prep: Prepared, student: BuiltStudent, collator, args, resuming: bool
) -> NumericsPart:
    """fp32 or bf16 autocast for this run (a probe on a real batch where the preset says auto)."""
    from zoo.distill import numerics

    p = job.preset

    def probe(bf16: bool) -> dict[str, float]:
        kinds = "in fp32 and in bf16 autocast" if bf16 else "in fp32 (no native bf16 on this CPU)"
        say(f"bf16: auto; timing a few steps {kinds}", args.process_index == 0)
        batch = numerics.median_batch(prep.corpus.train, collator, p.per_device_batch_size)
        return numerics.probe_steps(student.model, prep.t_model, batch, prep.layer, prep.heads, bf16)

    return numerics.choose(p.bf16, job.run_dir, resuming, probe, args)


def _plan(
    p, budget: int, train_sequences: int, processes: int, numerics: NumericsPart, fit: str | None
) -> str:
    per_epoch = stopping.steps_per_epoch(train_sequences, p.per_device_batch_size, processes,
                                         p.gradient_accumulation_steps)  # fmt: skip
    plateau = f"patience {p.patience} evaluations (min_delta {p.min_delta})" if p.patience else "no patience"
    cap = f"wall cap {p.max_wall_s:.0f} s" if p.max_wall_s else "no wall cap"
    return (
        f"budget {budget:,} steps ({train_sequences:,} training sequences, {per_epoch:,} steps per "
        f"epoch); held-out loss every {p.eval_steps} steps, {plateau}; {cap}; numerics "
        f"{numerics.chosen} ({numerics.reason})" + (f"; {fit}" if fit else "")
    )


def _refit_note(trainer) -> str | None:
    """Both budget fits when :class:`~zoo.distill.stopping.BudgetRefit` changed the budget in this session
    (None: it did not; a resumed run's note comes from ``budget.json``)."""
    refit = next((c for c in trainer.callback_handler.callbacks if isinstance(c, stopping.BudgetRefit)), None)
    return refit.note if refit is not None and refit.note else None


def _train(job: Job, prep: Prepared, student: BuiltStudent, s_tok, collator, args, main: bool,
           started: float, budget: int, refit: stopping.RefitPlan | None = None):  # fmt: skip
    """Train from the last complete checkpoint (or from scratch) until a stop of :mod:`zoo.distill.stopping`;
    returns the Trainer at its final state with the best checkpoint's weights loaded, and the run's wall
    time (all sessions) when training stopped."""
    from zoo.distill.trainer import DistillationTrainer, SessionLogCallback

    last = last_checkpoint(job.run_dir)
    args.eval_on_start = last is None
    if last:
        say(f"resuming from {last}", main)
    rank_log = job.run_dir / f"rank{args.process_index}.jsonl" if job.preset.log_ranks else None
    if rank_log is not None and last is None:
        rank_log.unlink(missing_ok=True)
    resumed_step = checkpoint_step(last) or 0
    sessions = SessionLogCallback(job.run_dir / SESSIONS_FILE, resumed_step, started) if main else None
    prior_s = stopping.agree(sessions.prior_s if sessions else 0.0, args)
    trainer = DistillationTrainer(
        model=student.model,
        args=args,
        train_dataset=prep.corpus.train,
        eval_dataset=prep.corpus.heldout,
        data_collator=collator,
        processing_class=s_tok,
        callbacks=([sessions] if sessions else []) + stopping.callbacks(job.preset, prior_s, started, refit),
        teacher=prep.t_model,
        teacher_layer=prep.layer,
        relation_heads=prep.heads,
        rank_log=rank_log,
        hidden_loss_weight=job.preset.hidden_loss_weight,
    )
    done = stopping.finished_reason(last, job.preset, budget, prior_s) if last is not None else None
    if done:
        say(f"the run already stopped at step {resumed_step} ({done}); publishing its best checkpoint", main)
        restore_finished_run(trainer, last, job.run_dir)
        if sessions is not None:
            sessions.on_train_end(args, trainer.state, None)
    else:
        trainer.train(resume_from_checkpoint=str(last) if last else None)
    return trainer, prior_s + time.monotonic() - started


def _stopping(job: Job, trainer, budget: int, wall_s: float) -> StoppingPart:
    """Why training stopped (main process; the last checkpoint saved the early-stopping counter)."""
    from zoo.errors import ZooError

    p, state = job.preset, trainer.state
    counter = stopping.without_improvement(state.stateful_callbacks)
    reason = stopping.stop_reason(state.global_step, budget, counter, p.patience, wall_s, p.max_wall_s)
    if reason is None:
        raise ZooError(f"training stopped at step {state.global_step} without a known reason (a bug)")
    return StoppingPart(
        stop_reason=reason, step=state.global_step, budget_steps=budget, max_steps=p.max_steps,
        max_epochs=p.max_epochs, patience=p.patience, min_delta=p.min_delta,
        evaluations_without_improvement=counter, max_wall_s=p.max_wall_s, wall_s=round(wall_s, 1),
    )  # fmt: skip


def _record(
    job: Job, prep: Prepared, student: BuiltStudent, check, trainer, args, elapsed_s: float
) -> DistillationRecord:
    """The student's ``distillation.json`` (main process, after training); also saves the log history."""
    import torch

    from zoo import models
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
            embedding_init=student.init,
            untrained_parameters=student.untrained,
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
        loss=LossPart.minilm_v2(student_layer=shape.layers, hidden_state=_hidden_part(p, prep, student)),
        corpus=CorpusPart.from_meta(prep.corpus.meta, job.corpus_source, hub, job.data_root),
        vocab=VocabPart(**prep.vocab.stats(), verification=check),
        training=TrainingPart.from_state(state, args.world_size, sessions, elapsed_s),
        preset=PresetPart(name=p.name, values=p.as_dict(), overrides=job.overrides),
        environment=EnvironmentPart.from_env(
            environment(), torch.get_num_threads(), str(args.device), bool(args.bf16)
        ),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def _hidden_part(p: Preset, prep: Prepared, student: BuiltStudent) -> HiddenStateLoss | None:
    """The record's hidden-state term (None when it is off)."""
    if p.hidden_loss_weight == 0:
        return None
    return HiddenStateLoss(
        weight=p.hidden_loss_weight,
        teacher_layer=prep.layer,
        map=student.hidden_map or "",
        normalisation="squares summed over real tokens and hidden units / (real tokens x teacher hidden)",
    )


def _write_student(
    encoder, mlm, student: BuiltStudent, tok_dir: Path, record: DistillationRecord, out_dir: Path
) -> None:
    """The student directory, atomically: weights (``BertForMaskedLM`` when ``mlm`` is given, else the
    ``BertModel`` ``encoder``; never the hidden-state map), config, tokenizer files, id map,
    ``distillation.json``; and ``init/``: the encoder as initialised, with the same config and tokenizer (not
    published: the Hub gets top-level files only)."""
    from zoo.fileio import atomic_dir
    from zoo.models import INIT_DIR, init_baseline_id

    with atomic_dir(out_dir, overwrite=True) as tmp:
        (mlm if mlm is not None else encoder).save_pretrained(tmp)
        encoder.save_pretrained(tmp / INIT_DIR, state_dict=student.init_state)
        for d in (tmp, tmp / INIT_DIR):
            for f in tok_dir.iterdir():
                shutil.copy2(f, d / f.name)
        record.write(tmp / FILE_NAME)
        init_id = init_baseline_id(record.student.lang, record.student.size)
        (tmp / INIT_DIR / "README.md").write_text(
            f"Init-only baseline of `{record.student.id}` (`zoo eval --model {init_id}`): the student "
            f"exactly as initialised, before any distillation step. Initialisation: {student.init}.\n",
            encoding="utf-8",
        )
