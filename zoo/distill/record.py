"""``distillation.json``: the typed record of how a student was distilled (written by :mod:`zoo.distill.run`).

One :class:`DistillationRecord` per student directory: the student's shape, the teacher and its layer, the
loss, the corpus (files with hashes, or Hub datasets), the pruned vocabulary, the training run (held-out loss
curve, best step, sessions), the preset and the environment. Readers (model cards, reports) load it with
:meth:`DistillationRecord.in_dir` or :meth:`DistillationRecord.read`. Fields that older writers lacked are
Optional, so every ``distillation.json`` written so far still reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from zoo.distill.checkpoints import checkpoint_step
from zoo.results.record import Environment
from zoo.schema import Part, Record

FILE_NAME = "distillation.json"
SCHEMA_ID = "time-zoo/distillation@1"
# the corpus counts copied from the prepared corpus's meta (zoo.distill.data)
_CORPUS_META_KEYS = (
    "lines",
    "train_lines",
    "heldout_lines",
    "train_sequences",
    "heldout_sequences",
    "train_tokens",
    "heldout_tokens",
    "max_lines",
)


class Params(Part):
    """Parameter counts; ``total = embedding + encoder``."""

    total: int
    embedding: int
    encoder: int


class UntrainedGroup(Part):
    """Parameters of the published student that no training step updated, and why."""

    parameters: str
    reason: str


class StudentPart(Part):
    """The student's identity and shape. ``embedding_init`` describes the whole initialisation (embeddings
    and encoder layers; the name is older than teacher-layer init). ``untrained_parameters`` lists the groups
    the run left untrained (:func:`zoo.distill.student.untrained_groups`); older writers stored one fixed
    sentence."""

    id: str
    lang: str
    size: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab_size: int
    max_position_embeddings: int
    params: Params
    embedding_init: str
    untrained_parameters: list[UntrainedGroup] | str

    def untrained_list(self) -> list[UntrainedGroup]:
        """The untrained groups (an older writer's sentence as one group without a separate reason)."""
        if isinstance(self.untrained_parameters, str):
            return [UntrainedGroup(parameters=self.untrained_parameters, reason="")]
        return list(self.untrained_parameters)


class TeacherPart(Part):
    """The teacher and the layer whose self-attention relations the student learns."""

    id: str
    revision: str | None
    layer: int
    layers: int
    hidden: int
    relation_heads: int
    relation_heads_requested: int


class HiddenStateLoss(Part):
    """The optional hidden-state term (:mod:`zoo.distill.hidden_loss`): weight x MSE between the student's
    last hidden state (through ``map``) and the output of the distilled teacher layer."""

    weight: float
    teacher_layer: int
    map: str
    normalisation: str


class LossPart(Part):
    """The distillation loss (MiniLMv2 relations, plus the hidden-state term when it is on)."""

    name: str
    relations: list[str]
    student_layer: int
    normalisation: str
    hidden_state: HiddenStateLoss | None = None  # absent: off (and older writers lacked it)

    @classmethod
    def minilm_v2(cls, student_layer: int, hidden_state: HiddenStateLoss | None = None) -> LossPart:
        """The loss of :mod:`zoo.distill.relation_loss`, against the student's ``student_layer``, plus
        ``hidden_state`` when that term is on."""
        extra = {"hidden_state": hidden_state} if hidden_state is not None else {}
        return cls(
            name="MiniLMv2 self-attention relation KL",
            relations=["Q-Q", "K-K", "V-V"],
            student_layer=student_layer,
            normalisation="sum over keys / (relation heads x real tokens)",
            **extra,
        )


class HubSource(Part):
    """A Hub dataset the corpus came from (as in the language file's ``corpus.hub``)."""

    id: str
    config: str | None = None
    revision: str | None = None
    split: str | None = None
    text_field: str | None = None


class CorpusFile(Part):
    """One local corpus file; ``path`` is relative to the data root when it lies under it."""

    path: str
    sha256: str
    lines: int
    words: int | None = None  # older writers lacked it


class CorpusPart(Part):
    """The distillation corpus and its split into training and held-out sequences."""

    source: Literal["local", "hub"] | None = None  # older writers lacked it (they read local files only)
    hub: list[HubSource] | None = None  # older writers lacked it
    files: list[CorpusFile]
    lines: int
    train_lines: int
    heldout_lines: int
    train_sequences: int
    heldout_sequences: int
    train_tokens: int
    heldout_tokens: int
    max_lines: int | None

    @classmethod
    def from_meta(
        cls, meta: dict[str, Any], source: str, hub: list[dict[str, Any]], root: Path | None
    ) -> CorpusPart:
        """From the prepared corpus's ``meta`` (``zoo.distill.data``); file paths relative to ``root``."""
        files = [
            CorpusFile(
                path=_relative(f["path"], root), sha256=f["sha256"], lines=f["lines"], words=f["words"]
            )
            for f in meta["files"]
        ]
        return cls(
            source=source,  # type: ignore[arg-type]
            hub=[HubSource(**h) for h in hub],
            files=files,
            **{k: meta[k] for k in _CORPUS_META_KEYS},
        )


class Verification(Part):
    """The pruned tokenizer against the teacher's, mapped through the id map, on corpus lines."""

    lines: int
    mismatched_lines: int


class VocabPart(Part):
    """The pruned vocabulary (``PrunedVocab.stats()``) and its check; ``verification`` is None when the
    vocabulary was not pruned."""

    model_type: str
    teacher_pieces: int
    kept_pieces: int
    kept_fraction: float
    corpus_tokens: int
    verification: Verification | None


class Session(Part):
    """One training session (a run resumed after an interruption adds one)."""

    started: str
    resumed_from_step: int
    last_step: int
    elapsed_s: float


class TrainingPart(Part):
    """The training run; curves are ``[step, loss]`` pairs; the best step is chosen by held-out loss."""

    steps: int
    tokens_seen: int
    epochs: float
    processes: int
    heldout_loss_curve: list[tuple[int, float]]
    # with the hidden-state loss on, the held-out relation loss alone (comparable with runs without it)
    heldout_relation_loss_curve: list[tuple[int, float]] | None = None
    heldout_loss_at_step_0: float | None
    best_step: int | None
    best_heldout_loss: float | None
    best_to_step0_ratio: float | None
    train_loss_curve: list[tuple[int, float]]
    sessions: list[Session]
    wall_time_s: float

    @classmethod
    def from_state(
        cls, state: Any, processes: int, sessions: list[dict[str, Any]], this_session_s: float
    ) -> TrainingPart:
        """From the Trainer's final ``TrainerState``; wall time = the earlier sessions' + this one's."""
        history = state.log_history
        curve = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
        step0 = next((loss for step, loss in curve if step == 0), None)
        relation = [(h["step"], h["eval_relation_loss"]) for h in history if "eval_relation_loss" in h]
        best = state.best_metric
        return cls(
            steps=state.global_step,
            tokens_seen=state.num_input_tokens_seen,
            epochs=round(state.epoch or 0.0, 4),
            processes=processes,
            heldout_loss_curve=curve,
            heldout_relation_loss_curve=relation or None,
            heldout_loss_at_step_0=step0,
            best_step=checkpoint_step(state.best_model_checkpoint),
            best_heldout_loss=best,
            best_to_step0_ratio=(best / step0) if step0 and best else None,
            train_loss_curve=[(h["step"], h["loss"]) for h in history if "loss" in h],
            sessions=[Session(**s) for s in sessions],
            wall_time_s=round(sum(s["elapsed_s"] for s in sessions[:-1]) + this_session_s, 1),
        )


class StoppingPart(Part):
    """Why training stopped (:mod:`zoo.distill.stopping`): ``plateau`` (``patience`` held-out evaluations
    in a row without an improvement of more than ``min_delta``), ``budget`` (``budget_steps``: the smaller
    of ``max_steps`` and ``max_epochs`` epochs) or ``cap`` (the run's wall time reached ``max_wall_s``)."""

    stop_reason: Literal["plateau", "budget", "cap"]
    step: int
    budget_steps: int
    max_steps: int | None
    max_epochs: float | None
    patience: int | None
    min_delta: float
    evaluations_without_improvement: int
    max_wall_s: float | None
    wall_s: float  # the run's wall time (all sessions, preparation included) when training stopped
    budget_fit: str | None = None  # how the budget was fitted to the wall cap (None: not asked; older runs)


class NumericsPart(Part):
    """fp32 or bf16 autocast (:mod:`zoo.distill.numerics`): the preset's setting, the choice, and the
    probe's seconds per step (``{"fp32": s, "bf16": s}``; None when nothing was probed)."""

    bf16: bool | Literal["auto"]
    chosen: Literal["fp32", "bf16"]
    probe_s_per_step: dict[str, float] | None
    device: str
    reason: str


class PresetPart(Part):
    """The preset: its name, every value it ran with (``Preset.as_dict()``), and the overrides given."""

    name: str
    values: dict[str, Any]
    overrides: dict[str, Any]


class EnvironmentPart(Environment):
    """Where it ran: the result records' :class:`~zoo.results.record.Environment` plus the device, threads
    and numerics of the run."""

    torch_threads: int
    device: str
    bf16: bool

    @classmethod
    def from_env(cls, env: dict[str, Any], torch_threads: int, device: str, bf16: bool) -> EnvironmentPart:
        return cls(**{**env, "torch_threads": torch_threads, "device": device, "bf16": bf16})


class MlmEval(Part):
    """The head on held-out corpus sequences (the distillation held-out split), against a unigram baseline.

    Accuracy: top-1 at ``masked_positions`` fixed positions (seeded; every one replaced by the mask token);
    the unigram baseline predicts ``unigram_piece``, the most frequent non-special piece of the training
    sequences, at the same positions. Pseudo-perplexity (Salazar et al. 2020): each non-special token of the
    first ``pppl_sequences`` sequences masked in turn; ``unigram_perplexity`` is the add-one-smoothed unigram
    of the training sequences on the same tokens. ``teacher_accuracy``: the teacher's head restricted to the
    kept pieces, same positions (None when the teacher has no head)."""

    sequences: int
    masked_positions: int
    accuracy: float
    unigram_piece: str
    unigram_accuracy: float
    pppl_sequences: int
    pppl_tokens: int
    pseudo_perplexity: float
    unigram_perplexity: float
    teacher_accuracy: float | None = None
    seed: int


class MlmHeadPart(Part):
    """The masked-LM head trained after relation distillation (:mod:`zoo.distill.mlm_head`)."""

    objective: Literal["mlm-corpus", "teacher-kl"]
    description: str
    encoder_frozen: bool
    decoder: str
    init: str
    trained_parameters: list[str]
    trained_parameter_count: int
    masking: str
    steps: int
    batch_size: int
    learning_rate: float
    warmup_steps: int
    train_loss_curve: list[tuple[int, float]]
    heldout: MlmEval
    wall_time_s: float


class DistillationRecord(Record):
    """``distillation.json`` in a student directory (schema ``time-zoo/distillation@1``)."""

    SCHEMA_NAME = "distillation"

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    # "schema" is a BaseModel attribute, hence the alias
    schema_id: Literal["time-zoo/distillation@1"] = Field(SCHEMA_ID, alias="schema")
    student: StudentPart
    teacher: TeacherPart
    loss: LossPart
    corpus: CorpusPart
    vocab: VocabPart
    training: TrainingPart
    preset: PresetPart
    environment: EnvironmentPart
    date: str
    stopping: StoppingPart | None = None  # older writers lacked it
    numerics: NumericsPart | None = None  # older writers lacked it
    mlm_head: MlmHeadPart | None = None  # None: no head (mlm_head_steps=0, or written before heads existed)

    @classmethod
    def in_dir(cls, student_dir: str | os.PathLike) -> DistillationRecord | None:
        """The record of a student directory, or None when it has none (e.g. a student not made here)."""
        path = Path(student_dir) / FILE_NAME
        return cls.read(path) if path.is_file() else None


def _relative(path: str, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)
