"""The distillation entry point: ``zoo distill`` and ``python -m zoo.distill.run`` (``accelerate launch``).

One call: resolve the teacher, tokenise (or load) the corpus, prune the vocabulary, build the student,
train it with :class:`DistillationTrainer` (resuming from the last checkpoint of the run directory), and
publish the best checkpoint atomically as a student directory that ``AutoModel``/``AutoTokenizer`` load
with no project code. Under ``accelerate launch``/``torchrun`` every process runs this same function;
the main process prepares shared files first and alone writes checkpoints and the student.

Run state (checkpoints, logs) lives in ``work_dir()/runs/distill/<student dir name>/``, never in the
published student directory.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from zoo.distill.presets import Preset, get_preset
from zoo.errors import UsageError, ZooError
from zoo.paths import data_dir, work_dir

SCHEMA = "time-zoo/distillation@1"
RUN_FILE = "run.json"
TOKENIZER_DIR = "student-tokenizer"


def _say(msg: str, main: bool = True) -> None:
    if main:
        print(f"[distill] {msg}", file=sys.stderr, flush=True)


def run_dir_for(out_dir: Path) -> Path:
    """The run directory (checkpoints, logs) of a student directory."""
    return work_dir() / "runs" / "distill" / out_dir.name


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to replace a finished student (or an unrelated non-empty directory) unless ``force``."""
    if force or not out_dir.exists():
        return
    if (out_dir / "distillation.json").is_file():
        raise UsageError(
            f"{out_dir} already holds a finished student",
            hint="pass --force to distil it again (add --restart to also discard the run's checkpoints)",
        )
    if not out_dir.is_dir() or any(out_dir.iterdir()):
        raise UsageError(
            f"{out_dir} exists and is not a student directory", hint="choose another --out or --force"
        )


def _signature(**parts: Any) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the checkpoints."""
    return json.loads(json.dumps(parts, sort_keys=True, default=str))


def _check_resume(run_dir: Path, signature: dict[str, Any], has_checkpoint: bool) -> None:
    path = run_dir / RUN_FILE
    if not has_checkpoint or not path.is_file():
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    diff = sorted(k for k in set(old) | set(signature) if old.get(k) != signature.get(k))
    if diff:
        raise UsageError(
            f"the checkpoints in {run_dir} come from a run with other settings ({', '.join(diff)})",
            hint="rerun with the same settings to resume, or pass --restart to discard them",
        )


def _heads_and_layer(
    spec, teacher_id: str, online: bool, preset: Preset, teacher, student_hidden: int
) -> tuple[int, int, int]:
    """(teacher layer, relation heads used, relation heads requested)."""
    from zoo.distill.relation_loss import compatible_heads, num_relation_layers

    ref = spec.teacher_online if online else spec.teacher_offline
    n_layers = num_relation_layers(teacher)
    layer = preset.teacher_layer or (ref.layer if teacher_id == ref.id else n_layers)
    if not 1 <= layer <= n_layers:
        raise UsageError(
            f"teacher layer {layer} does not exist: {teacher_id} has {n_layers} layers",
            hint="--set teacher_layer=N",
        )
    requested = preset.relation_heads or (
        ref.relation_heads if teacher_id == ref.id else teacher.config.num_attention_heads
    )
    heads = compatible_heads(requested, teacher.config.hidden_size, student_hidden)
    return layer, heads, requested


def last_checkpoint(run_dir: Path) -> Path | None:
    """The highest-numbered COMPLETE checkpoint (``trainer_state.json`` is the last file the Trainer writes,
    so a run killed while saving leaves a directory without it, which is skipped)."""
    done = [
        p
        for p in run_dir.glob("checkpoint-*")
        if (p / "trainer_state.json").is_file() and p.name[11:].isdigit()
    ]
    return max(done, key=lambda p: int(p.name[11:]), default=None)


def _remove_incomplete_checkpoints(run_dir: Path) -> None:
    for p in run_dir.glob("checkpoint-*"):
        if p.is_dir() and not (p / "trainer_state.json").is_file():
            shutil.rmtree(p)


def load_checkpoint_weights(model, checkpoint: Path) -> None:
    """Load a Trainer checkpoint's weights (single or sharded safetensors) into ``model``."""
    from safetensors.torch import load_file
    from transformers.trainer_utils import load_sharded_checkpoint

    single = checkpoint / "model.safetensors"
    if single.is_file():
        model.load_state_dict(load_file(str(single)), strict=True)
    else:
        load_sharded_checkpoint(model, str(checkpoint), strict=True)


def _checkpoint_step(checkpoint: str | Path | None) -> int | None:
    if not checkpoint:
        return None
    return int(Path(checkpoint).name.rsplit("-", 1)[-1])


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
    import torch
    from transformers import AutoTokenizer, TrainerState, TrainingArguments

    from zoo import models, registry
    from zoo.data.corpus import corpus_files
    from zoo.distill import vocab as vocab_mod
    from zoo.distill.data import prepare_corpus
    from zoo.distill.student import (
        build_student,
        freeze_unreachable,
        init_embeddings_from_teacher,
        max_positions_of,
        student_config,
    )
    from zoo.distill.trainer import DistillationCollator, DistillationTrainer, SessionLogCallback
    from zoo.fileio import atomic_dir, exclusive_lock, write_json_atomic
    from zoo.results import environment
    from zoo.teachers import load_teacher

    t_start = time.monotonic()
    spec = registry.get_language(lang)
    shape = spec.size(size)
    p = get_preset(preset, overrides)
    ref = spec.teacher_online if online else spec.teacher_offline
    teacher_id = teacher or ref.id
    out_dir = Path(out).expanduser().resolve() if out else models.student_dir(lang, size)
    check_out_dir(out_dir, force)
    root = data_dir(required=not spec.corpus_hub)
    files, corpus_source = corpus_files(spec)  # local files, else the language's Hub corpora
    run_dir = run_dir_for(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    args = TrainingArguments(
        output_dir=str(run_dir),
        max_steps=p.max_steps,
        per_device_train_batch_size=p.per_device_batch_size,
        per_device_eval_batch_size=p.eval_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps,
        learning_rate=p.learning_rate,
        optim=p.optim,
        weight_decay=p.weight_decay,
        warmup_steps=p.warmup_steps,
        lr_scheduler_type=p.lr_scheduler,
        max_grad_norm=p.max_grad_norm,
        bf16=p.bf16,
        eval_strategy="steps",
        eval_steps=p.eval_steps,
        save_strategy="steps",
        save_steps=p.eval_steps,
        save_total_limit=p.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_strategy="steps",
        logging_steps=p.logging_steps,
        logging_first_step=True,
        report_to="none",
        seed=p.seed,
        data_seed=p.data_seed,
        train_sampling_strategy=p.sampling,
        length_column_name="length",
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=p.dataloader_workers,
        ddp_find_unused_parameters=False,
        # without a GPU, several processes (torchrun / accelerate launch) train on CPU with gloo
        use_cpu=not torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    main = args.process_index == 0
    lock = exclusive_lock(run_dir / ".lock", what=f"the run directory {run_dir}") if main else nullcontext()
    with lock:
        with args.main_process_first(desc="prepare teacher, corpus and vocabulary", local=False):
            t_model, t_tok, t_info = load_teacher(teacher_id, ref.revision if teacher_id == ref.id else None)
            if p.max_seq_len > max_positions_of(t_model):
                raise UsageError(
                    f"max_seq_len {p.max_seq_len} exceeds the teacher's {max_positions_of(t_model)}"
                )
            _say(
                f"corpus: {len(files)} files of {lang}; tokenising with the teacher tokenizer (cached)", main
            )
            corpus = prepare_corpus(
                files, t_tok, p.max_seq_len, p.heldout_fraction, p.heldout_max, p.max_lines, p.data_seed
            )
            if p.prune_vocab:
                vocab = vocab_mod.prune_vocabulary(t_tok, corpus.used_ids, corpus.meta["corpus_tokens"])
            else:
                vocab = vocab_mod.identity_vocab(t_tok)
            layer, heads, heads_requested = _heads_and_layer(
                spec, teacher_id, online, p, t_model, shape.hidden
            )
            signature = _signature(
                lang=lang,
                size=size,
                teacher_id=teacher_id,
                teacher_revision=t_info["revision"],
                layer=layer,
                relation_heads=heads,
                corpus=sorted(f["sha256"] for f in corpus.meta["files"]),
                preset={k: v for k, v in p.as_dict().items() if k not in ("log_ranks", "dataloader_workers")},
            )
            tok_dir = run_dir / TOKENIZER_DIR
            if main:
                if restart:
                    for ckpt in run_dir.glob("checkpoint-*"):
                        shutil.rmtree(ckpt)
                    for name in ("sessions.json", "log_history.json"):
                        (run_dir / name).unlink(missing_ok=True)
                    for f in run_dir.glob("rank*.jsonl"):
                        f.unlink()
                _remove_incomplete_checkpoints(run_dir)
                _check_resume(run_dir, signature, last_checkpoint(run_dir) is not None)
                write_json_atomic(run_dir / RUN_FILE, signature)
                with atomic_dir(tok_dir, overwrite=True) as tmp:
                    vocab_mod.write_student_tokenizer(t_tok, vocab, tmp)
        s_tok = AutoTokenizer.from_pretrained(str(tok_dir))
        if main and p.prune_vocab:
            check = vocab_mod.verify_tokenizer(t_tok, s_tok, vocab, _verify_texts(files, p.max_lines, 2000))
            if check["mismatched_lines"]:
                raise ZooError(
                    f"the pruned tokenizer disagrees with the teacher on {check['mismatched_lines']} of "
                    f"{check['lines']} corpus lines",
                    hint="this is a bug; --set prune_vocab=false avoids it",
                )
        else:
            check = None
        _say(
            f"vocabulary: {vocab.size:,} of {vocab.teacher_vocab_size:,} teacher pieces kept"
            + (
                f"; tokenisation identical to the teacher's on {check['lines']} corpus lines" if check else ""
            ),
            main,
        )
        if heads != heads_requested:
            _say(
                f"{heads_requested} relation heads do not divide both hidden sizes "
                f"({t_model.config.hidden_size}, {shape.hidden}); using {heads}",
                main,
            )

        config = student_config(shape, s_tok, vocab.size, max_positions_of(t_model))
        student = build_student(config, p.seed)
        embedding_init = "random (BERT initialiser, std 0.02)"
        if p.init_embeddings == "teacher":
            embedding_init = init_embeddings_from_teacher(student, t_model, vocab.id_map, p.seed)
        freeze_unreachable(student)
        params = models.count_parameters(student)
        _say(
            f"student {models.student_id(lang, size)}: {params['total']:,} parameters "
            f"({params['embedding']:,} embedding, {params['encoder']:,} encoder); "
            f"teacher {teacher_id} layer {layer}, "
            f"{heads} relation heads; {corpus.meta['train_sequences']:,} training sequences",
            main,
        )

        last = last_checkpoint(run_dir)
        args.eval_on_start = last is None
        if last:
            _say(f"resuming from {last}", main)
        rank_log = run_dir / f"rank{args.process_index}.jsonl" if p.log_ranks else None
        if rank_log is not None and last is None:
            rank_log.unlink(missing_ok=True)
        resumed_step = _checkpoint_step(last) or 0
        sessions = SessionLogCallback(run_dir / "sessions.json", resumed_step) if main else None
        trainer = DistillationTrainer(
            model=student,
            args=args,
            train_dataset=corpus.train,
            eval_dataset=corpus.heldout,
            data_collator=DistillationCollator(
                vocab.lookup(s_tok.unk_token_id), t_tok.pad_token_id, s_tok.pad_token_id
            ),
            processing_class=s_tok,
            callbacks=[sessions] if sessions else None,
            teacher=t_model,
            teacher_layer=layer,
            relation_heads=heads,
            rank_log=rank_log,
        )
        if last is not None and resumed_step >= p.max_steps:
            # the run already finished (e.g. a rerun with --force): Trainer would train one more step
            # when resumed at max_steps, so take its final state and best weights from the checkpoints
            _say(f"the run finished at step {resumed_step}; publishing its best checkpoint", main)
            trainer.state = TrainerState.load_from_json(str(last / "trainer_state.json"))
            best = run_dir / Path(trainer.state.best_model_checkpoint or last).name
            load_checkpoint_weights(student, best)
            if sessions is not None:
                sessions.on_train_end(args, trainer.state, None)
        else:
            trainer.train(resume_from_checkpoint=str(last) if last else None)
        state = trainer.state
        if not trainer.is_world_process_zero():
            return out_dir
        write_json_atomic(run_dir / "log_history.json", state.log_history)
        curve = [[h["step"], h["eval_loss"]] for h in state.log_history if "eval_loss" in h]
        step0 = next((loss for step, loss in curve if step == 0), None)
        session_log = json.loads((run_dir / "sessions.json").read_text(encoding="utf-8"))
        record = {
            "schema": SCHEMA,
            "student": {
                "id": models.student_id(lang, size),
                "lang": lang,
                "size": size,
                "layers": shape.layers,
                "hidden": shape.hidden,
                "heads": shape.heads,
                "ffn": shape.ffn,
                "vocab_size": vocab.size,
                "max_position_embeddings": config.max_position_embeddings,
                "params": params,
                "embedding_init": embedding_init,
                "untrained_parameters": "the last layer's attention output and FFN, and the pooler: the "
                "relation loss does not reach them; they keep their random initialisation",
            },
            "teacher": {
                "id": teacher_id,
                "revision": t_info["revision"],
                "layer": layer,
                "layers": t_info["num_layers"],
                "hidden": t_info["hidden"],
                "relation_heads": heads,
                "relation_heads_requested": heads_requested,
            },
            "loss": {
                "name": "MiniLMv2 self-attention relation KL",
                "relations": ["Q-Q", "K-K", "V-V"],
                "student_layer": shape.layers,
                "normalisation": "sum over keys / (relation heads x real tokens)",
            },
            "corpus": {
                "source": corpus_source,
                "hub": [dataclasses.asdict(h) for h in spec.corpus_hub] if corpus_source == "hub" else [],
                "files": [
                    {"path": _rel(f["path"], root), "sha256": f["sha256"], "lines": f["lines"],
                     "words": f["words"]}
                    for f in corpus.meta["files"]
                ],
                **{
                    k: corpus.meta[k]
                    for k in (
                        "lines",
                        "train_lines",
                        "heldout_lines",
                        "train_sequences",
                        "heldout_sequences",
                        "train_tokens",
                        "heldout_tokens",
                        "max_lines",
                    )
                },
            },
            "vocab": {**vocab.stats(), "verification": check},
            "training": {
                "steps": state.global_step,
                "tokens_seen": state.num_input_tokens_seen,
                "epochs": round(state.epoch or 0.0, 4),
                "processes": args.world_size,
                "heldout_loss_curve": curve,
                "heldout_loss_at_step_0": step0,
                "best_step": _checkpoint_step(state.best_model_checkpoint),
                "best_heldout_loss": state.best_metric,
                "best_to_step0_ratio": (state.best_metric / step0) if step0 and state.best_metric else None,
                "train_loss_curve": [[h["step"], h["loss"]] for h in state.log_history if "loss" in h],
                "sessions": session_log,
                "wall_time_s": round(
                    sum(s["elapsed_s"] for s in session_log[:-1]) + (time.monotonic() - t_start), 1
                ),
            },
            "preset": {"name": p.name, "values": p.as_dict(), "overrides": dict(overrides or {})},
            "environment": {
                **environment(),
                "torch_threads": torch.get_num_threads(),
                "device": str(args.device),
                "bf16": p.bf16,
            },
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with atomic_dir(out_dir, overwrite=True) as tmp:
            trainer.model.save_pretrained(tmp)
            for f in tok_dir.iterdir():
                shutil.copy2(f, tmp / f.name)
            write_json_atomic(tmp / "distillation.json", record)
        _say(f"student written to {out_dir}", main)
    return out_dir


def _rel(path: str, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def _verify_texts(files: list[Path], max_lines: int | None, n: int) -> list[str]:
    """Up to ``n`` evenly spaced lines of the corpus the vocabulary was built from."""
    from zoo.distill.data import corpus_lines

    lines = corpus_lines(files, max_lines)
    step = max(1, len(lines) // n)
    return lines[::step][:n]


def main(argv: list[str] | None = None) -> None:
    """``python -m zoo.distill.run ARGS`` = ``zoo distill ARGS`` (what ``accelerate launch -m`` runs)."""
    from zoo.cli import main as cli_main

    cli_main(["distill", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
