"""Everything a distillation run needs before training, in the order it happens.

:func:`make_job` resolves what to distil and where (language, size, preset, teacher, corpus files,
directories); :func:`prepare` loads the teacher, tokenises the corpus, prunes the vocabulary, readies the
run directory and writes the student tokenizer; :func:`check_student_tokenizer` checks that tokenizer
against the teacher's; :func:`build_student` makes the student model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.distill.checkpoints import prepare_run_dir, run_dir_for, run_signature
from zoo.distill.presets import Preset, get_preset
from zoo.distill.record import FILE_NAME
from zoo.errors import UsageError, ZooError
from zoo.paths import data_dir

if TYPE_CHECKING:
    from zoo.registry import LanguageSpec, StudentShape, TeacherRef

TOKENIZER_DIR = "student-tokenizer"
_NOT_IN_SIGNATURE = ("log_ranks", "dataloader_workers", "max_wall_s")


def _outside_signature(field: str) -> bool:
    """Preset fields a resumed relation run may change: logging, workers, the wall cap, the MLM head step."""
    return field in _NOT_IN_SIGNATURE or field.startswith("mlm_")


def say(msg: str, main: bool = True) -> None:
    """A progress line on stderr (from the main process only)."""
    if main:
        print(f"[distill] {msg}", file=sys.stderr, flush=True)


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to replace a finished student (or an unrelated non-empty directory) unless ``force``."""
    if force or not out_dir.exists():
        return
    if (out_dir / FILE_NAME).is_file():
        raise UsageError(
            f"{out_dir} already holds a finished student",
            hint="pass --force to distil it again (add --restart to also discard the run's checkpoints)",
        )
    if not out_dir.is_dir() or any(out_dir.iterdir()):
        raise UsageError(
            f"{out_dir} exists and is not a student directory", hint="choose another --out or --force"
        )


@dataclass
class Job:
    """What one call distils, and where: language, size, preset, teacher, corpus, directories."""

    lang: str
    size: str
    spec: LanguageSpec
    preset: Preset
    overrides: dict[str, Any]
    online: bool
    teacher_id: str
    out_dir: Path
    run_dir: Path
    files: list[Path]
    corpus_source: str
    data_root: Path | None

    @property
    def shape(self) -> StudentShape:
        return self.spec.size(self.size)

    @property
    def teacher_ref(self) -> TeacherRef:
        return self.spec.teacher_online if self.online else self.spec.teacher_offline


@dataclass
class Prepared:
    """The teacher, the tokenised corpus and the pruned vocabulary (the main process prepares them first)."""

    t_model: Any
    t_tok: Any
    t_info: dict[str, Any]
    corpus: Any  # data.CorpusData
    vocab: Any  # vocab.PrunedVocab
    layer: int
    heads: int
    heads_requested: int
    tok_dir: Path


@dataclass
class BuiltStudent:
    """The student model before training: how it was initialised (``init``: one description), its
    parameter counts, its weights as initialised (the init-only baseline, saved beside the student), the
    parameter groups no step will update (:func:`zoo.distill.student.untrained_groups`) and, with the
    hidden-state loss on, how its hidden state meets the teacher's."""

    model: Any
    init: str
    params: dict[str, int]
    init_state: dict[str, Any]
    untrained: list[dict[str, str]]
    hidden_map: str | None = None


def make_job(
    lang: str,
    size: str,
    preset: str,
    overrides: dict[str, Any] | None,
    out: str | Path | None,
    teacher: str | None,
    online: bool,
    force: bool,
) -> Job:
    """Resolve the language, preset, teacher, corpus files and directories (``distill``'s arguments);
    refuses a finished student unless ``force``; creates the run directory."""
    from zoo import models, registry
    from zoo.data.corpus import corpus_files

    spec = registry.get_language(lang)
    spec.size(size)
    p = get_preset(preset, overrides)
    ref = spec.teacher_online if online else spec.teacher_offline
    out_dir = Path(out).expanduser().resolve() if out else models.student_dir(lang, size)
    check_out_dir(out_dir, force)
    root = data_dir(required=not spec.corpus_hub)
    files, source = corpus_files(spec)  # local files, else the language's Hub corpora
    run_dir = run_dir_for(out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return Job(lang, size, spec, p, dict(overrides or {}), online, teacher or ref.id, out_dir, run_dir, files,
               corpus_source=source, data_root=root)  # fmt: skip


def prepare(job: Job, main: bool, restart: bool) -> Prepared:
    """Teacher, corpus, vocabulary, relation heads; the main process also readies the run directory and
    writes the student tokenizer."""
    from zoo.distill import vocab as vocab_mod
    from zoo.distill.data import prepare_corpus
    from zoo.distill.student import max_positions_of
    from zoo.fileio import atomic_dir
    from zoo.teachers import load_teacher

    p, ref = job.preset, job.teacher_ref
    t_model, t_tok, t_info = load_teacher(job.teacher_id, ref.revision if job.teacher_id == ref.id else None)
    if p.max_seq_len > max_positions_of(t_model):
        raise UsageError(f"max_seq_len {p.max_seq_len} exceeds the teacher's {max_positions_of(t_model)}")
    say(f"corpus: {len(job.files)} files of {job.lang}; tokenising with the teacher tokenizer (cached)", main)
    corpus = prepare_corpus(
        job.files, t_tok, p.max_seq_len, p.heldout_fraction, p.heldout_max, p.max_lines, p.data_seed
    )
    if p.prune_vocab:
        vocab = vocab_mod.prune_vocabulary(t_tok, corpus.used_ids, corpus.meta["corpus_tokens"])
    else:
        vocab = vocab_mod.identity_vocab(t_tok)
    layer, heads, requested = _heads_and_layer(job, t_model)
    prep = Prepared(
        t_model, t_tok, t_info, corpus, vocab, layer, heads, requested, job.run_dir / TOKENIZER_DIR
    )
    if main:
        signature = run_signature(
            lang=job.lang,
            size=job.size,
            teacher_id=job.teacher_id,
            teacher_revision=t_info["revision"],
            layer=layer,
            relation_heads=heads,
            corpus=sorted(f["sha256"] for f in corpus.meta["files"]),
            # how the checkpoints were made; not the wall-clock cap (a capped run resumes with a larger one),
            # not the MLM head step (its own signature, zoo.distill.mlm_head)
            preset={k: v for k, v in p.as_dict().items() if not _outside_signature(k)},
        )
        prepare_run_dir(job.run_dir, signature, restart)
        with atomic_dir(prep.tok_dir, overwrite=True) as tmp:
            vocab_mod.write_student_tokenizer(t_tok, vocab, tmp)
    return prep


def _heads_and_layer(job: Job, teacher) -> tuple[int, int, int]:
    """(teacher layer, relation heads used, relation heads requested)."""
    from zoo.distill.relation_loss import compatible_heads, num_relation_layers

    p, ref = job.preset, job.teacher_ref
    named = job.teacher_id == ref.id
    n_layers = num_relation_layers(teacher)
    layer = p.teacher_layer or (ref.layer if named else n_layers)
    if not 1 <= layer <= n_layers:
        raise UsageError(
            f"teacher layer {layer} does not exist: {job.teacher_id} has {n_layers} layers",
            hint="--set teacher_layer=N",
        )
    requested = p.relation_heads or (ref.relation_heads if named else teacher.config.num_attention_heads)
    heads = compatible_heads(requested, teacher.config.hidden_size, job.shape.hidden)
    return layer, heads, requested


def check_student_tokenizer(job: Job, prep: Prepared, s_tok, main: bool) -> dict[str, int] | None:
    """Main process, pruned vocabulary: the student tokenizer must tokenise corpus lines like the teacher."""
    from zoo.distill.vocab import verify_tokenizer

    check = None
    if main and job.preset.prune_vocab:
        texts = _verify_texts(job.files, job.preset.max_lines, 2000)
        check = verify_tokenizer(prep.t_tok, s_tok, prep.vocab, texts)
        if check["mismatched_lines"]:
            raise ZooError(
                f"the pruned tokenizer disagrees with the teacher on {check['mismatched_lines']} of "
                f"{check['lines']} corpus lines",
                hint="this is a bug; --set prune_vocab=false avoids it",
            )
    same = f"; tokenisation identical to the teacher's on {check['lines']} corpus lines" if check else ""
    say(
        f"vocabulary: {prep.vocab.size:,} of {prep.vocab.teacher_vocab_size:,} teacher pieces kept{same}",
        main,
    )
    if prep.heads != prep.heads_requested:
        say(
            f"{prep.heads_requested} relation heads do not divide both hidden sizes "
            f"({prep.t_model.config.hidden_size}, {job.shape.hidden}); using {prep.heads}",
            main,
        )
    return check


def _verify_texts(files: list[Path], max_lines: int | None, n: int) -> list[str]:
    """Up to ``n`` evenly spaced lines of the corpus the vocabulary was built from."""
    from zoo.distill.data import corpus_lines

    lines = corpus_lines(files, max_lines)
    step = max(1, len(lines) // n)
    return lines[::step][:n]


def build_student(job: Job, prep: Prepared, s_tok, main: bool) -> BuiltStudent:
    from zoo import models
    from zoo.distill import hidden_loss
    from zoo.distill import student as st

    p, teacher = job.preset, prep.t_model
    config = st.student_config(job.shape, s_tok, prep.vocab.size, st.max_positions_of(teacher))
    model = st.build_student(config, p.seed)
    embedding_init = st.RANDOM_EMBEDDINGS
    if p.init_embeddings == "teacher":
        embedding_init = st.init_embeddings_from_teacher(model, teacher, prep.vocab.id_map, p.seed)
    layers_from_teacher = p.init_layers == "teacher"
    if p.init_layers == "auto":  # teacher layers where the shapes allow (with the teacher's embeddings)
        problem = st.layer_copy_problem(model, teacher, prep.layer)
        layers_from_teacher = problem is None and p.init_embeddings == "teacher"
        if not layers_from_teacher:
            say(f"init_layers auto: random encoder ({problem or 'the embeddings are random'})", main)
    layer_map = st.init_layers_from_teacher(model, teacher, prep.layer) if layers_from_teacher else None
    init = st.describe_init(
        embedding_init, layer_map, config.num_attention_heads, teacher.config.num_attention_heads
    )
    frozen = st.freeze_unreachable(model) if p.hidden_loss_weight == 0 else []
    params = models.count_parameters(model)
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    untrained = st.untrained_groups(
        frozen,
        f"teacher layer {layer_map[-1]}" if layer_map else "random",
        "the teacher's rows" if "position" in embedding_init else "random",
        int(max(prep.corpus.train["length"])),
        config.max_position_embeddings,
    )
    hidden_map = None
    if p.hidden_loss_weight > 0:
        hidden_loss.attach_map(model, teacher.config.hidden_size, p.seed)
        hidden_map = hidden_loss.map_description(config.hidden_size, teacher.config.hidden_size)
    say(
        f"student {models.student_id(job.lang, job.size)}: {params['total']:,} parameters "
        f"({params['embedding']:,} embedding, {params['encoder']:,} encoder); init: {init}; "
        f"teacher {job.teacher_id} layer {prep.layer}, "
        f"{prep.heads} relation heads; {prep.corpus.meta['train_sequences']:,} training sequences",
        main,
    )
    return BuiltStudent(model, init, params, init_state, untrained, hidden_map)
