"""Student models: BERT with learned absolute positions in the shapes of ``registry.SIZES``, without a pooler.

Weights are randomly initialised with BERT's initialiser, as TiME does; optionally (preset field
``init_embeddings="teacher"``) the embeddings start from the teacher's rows of the kept pieces, and
(``init_layers="teacher"``, equal widths only) the encoder layers from evenly spaced teacher layers. The
embedding matrix has one row per piece of the pruned vocabulary.

No objective reaches a pooler, so the student has none (``add_pooling_layer=False``): the published checkpoint
holds no random weights there. ``AutoModel.from_pretrained`` of a student still builds a ``BertModel`` with
a pooler and initialises it randomly (its load report lists ``pooler.dense.*`` as MISSING);
``AutoModel.from_pretrained(path, add_pooling_layer=False)`` loads exactly the checkpoint. No config field
turns BERT's pooler off, so the card says this instead.
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel, set_seed

from zoo.registry import StudentShape


def student_config(shape: StudentShape, tokenizer, vocab_size: int, max_positions: int) -> BertConfig:
    """A ``BertConfig`` of ``shape`` (FFN = 4 x hidden) for a student tokenizer with ``vocab_size`` pieces.

    ``pad_token_id`` and the other special ids come from ``tokenizer`` (XLM-R pads with 1, not 0);
    ``max_positions`` is the teacher's position budget (the student sees at most ``max_seq_len`` tokens).
    """
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.ffn,
        hidden_act="gelu",
        max_position_embeddings=max_positions,
        type_vocab_size=2,
        position_embedding_type="absolute",
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id,
        eos_token_id=tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id,
        architectures=["BertModel"],
    )


def build_student(config: BertConfig, seed: int) -> BertModel:
    """A randomly initialised ``BertModel`` without pooler (see the module docstring)."""
    set_seed(seed)
    return BertModel(config, add_pooling_layer=False)


RANDOM_EMBEDDINGS = "random embeddings (BERT initialiser, std 0.02)"


def freeze_unreachable(model: BertModel) -> list[str]:
    """Freeze what the relation loss of the LAST layer cannot reach: that layer's attention output and
    feed-forward blocks (and a pooler, if any). They keep their initialisation (as in MiniLMv2) and stay out
    of the optimiser and of DDP's gradient buckets. Returns the frozen groups (module names)."""
    last = model.config.num_hidden_layers - 1
    groups = (
        f"encoder.layer.{last}.attention.output",
        f"encoder.layer.{last}.intermediate",
        f"encoder.layer.{last}.output",
        "pooler",
    )
    frozen = []
    for name, p in model.named_parameters():
        group = next((g for g in groups if name.startswith(g + ".")), None)
        if group is not None:
            p.requires_grad_(False)
            frozen += [group] if group not in frozen else []
    return frozen


def untrained_groups(
    frozen: list[str], layer_init: str, embedding_init: str, longest_sequence: int, max_positions: int
) -> list[dict[str, str]]:
    """The parameter groups of a student that no training step updates, each with the reason: the one place
    of that text (``distillation.json`` stores it, the card shows it). ``frozen``: from
    :func:`freeze_unreachable`; ``layer_init`` / ``embedding_init``: where the last layer / the embeddings
    started (``random``, ``teacher layer 12``, ...); ``longest_sequence``: the longest training sequence in
    tokens (position rows from there on get no gradient)."""
    out = []
    if frozen:
        why = "the relation loss reaches only the last layer's Q/K/V and hidden_loss_weight is 0"
        out.append(_group(", ".join(frozen), f"{why}: frozen at their initialisation ({layer_init})"))
    kept = f"no loss reaches it: it keeps its initialisation ({embedding_init}), shrunk only by weight decay"
    if longest_sequence < max_positions:
        rows = f"embeddings.position_embeddings rows {longest_sequence}-{max_positions - 1}"
        out.append(_group(rows, f"no training sequence is longer than {longest_sequence} tokens; {kept}"))
    why = "distillation feeds single segments (token type 0)"
    out.append(_group("embeddings.token_type_embeddings row 1", f"{why}; {kept}"))
    return out


def _group(parameters: str, reason: str) -> dict[str, str]:
    return {"parameters": parameters, "reason": reason}


def teacher_layer_map(student_layers: int, teacher_layer: int) -> list[int]:
    """Which teacher layer (1-based) each student layer (1-based) starts from: student layer ``i`` of ``n``
    takes teacher layer ``floor(i * L / n)``, ``L`` the distilled teacher layer. The spacing is even, the
    last student layer takes ``L`` itself and no teacher layer is used twice (4 of L=12: 3, 6, 9, 12; 4 of
    L=5: 1, 2, 3, 5)."""
    from zoo.errors import UsageError

    if student_layers > teacher_layer:
        raise UsageError(
            f"init_layers=teacher: the student has {student_layers} layers, more than the distilled teacher "
            f"layer {teacher_layer}",
            hint="--set init_layers=random, or a higher --set teacher_layer",
        )
    return [i * teacher_layer // student_layers for i in range(1, student_layers + 1)]


def layer_copy_problem(student: BertModel, teacher, teacher_layer: int) -> str | None:
    """Why the teacher's layers cannot be copied into ``student`` (None: they can): the hidden and FFN sizes
    must be equal, the student no deeper than the distilled layer, the teacher's layers BERT-shaped."""
    from zoo.distill.relation_loss import layer_modules

    s, t = student.config, teacher.config
    got = (s.hidden_size, s.intermediate_size)
    want = (t.hidden_size, getattr(t, "intermediate_size", None))
    if got != want:
        return (
            f"init_layers=teacher needs the student's hidden size and FFN to equal the teacher's: student "
            f"{got[0]} wide with FFN {got[1]}, teacher {want[0]} wide with FFN {want[1]}"
        )
    if s.num_hidden_layers > teacher_layer:
        return (
            f"init_layers=teacher: the student has {s.num_hidden_layers} layers, more than the distilled "
            f"teacher layer {teacher_layer}"
        )
    t_layer = layer_modules(teacher)[0]
    if set(t_layer.state_dict()) != set(student.encoder.layer[0].state_dict()):
        kind = type(t_layer).__name__
        return f"init_layers=teacher: the teacher's layers ({kind}) do not have BERT's parameters"
    return None


@torch.no_grad()
def init_layers_from_teacher(student: BertModel, teacher, teacher_layer: int) -> list[int]:
    """Copy teacher layers (:func:`teacher_layer_map`) into the student's encoder layers, whole (attention,
    FFN, LayerNorms). Needs the teacher's hidden and FFN sizes (:func:`layer_copy_problem`); the attention
    head count may differ: Q/K/V are Linear layers of the same shape either way, so the copied weights are
    re-split into the student's heads (a copied layer then computes a different attention than the
    teacher's until trained). Returns the teacher layer of each student layer."""
    from zoo.distill.relation_loss import layer_modules
    from zoo.errors import UsageError

    problem = layer_copy_problem(student, teacher, teacher_layer)
    if problem:
        hint = "--set init_layers=random (or auto: teacher layers where the shapes allow)"
        raise UsageError(problem, hint=hint)
    mapping = teacher_layer_map(student.config.num_hidden_layers, teacher_layer)
    t_layers = layer_modules(teacher)
    for s_layer, j in zip(student.encoder.layer, mapping, strict=True):
        s_layer.load_state_dict(t_layers[j - 1].state_dict())
    return mapping


def describe_init(
    embeddings: str, layer_map: list[int] | None, student_heads: int, teacher_heads: int
) -> str:
    """The one description of a student's initialisation (``student.embedding_init`` of the record)."""
    if layer_map is None:
        return f"{embeddings}; encoder random (BERT initialiser)"
    heads = (
        f", attention heads re-split {teacher_heads} -> {student_heads}"
        if student_heads != teacher_heads
        else ""
    )
    return (
        f"{embeddings}; encoder layers 1-{len(layer_map)} copied from teacher layers "
        f"{', '.join(map(str, layer_map))}{heads}"
    )


def max_positions_of(teacher) -> int:
    """Position budget of a teacher: its ``max_position_embeddings`` (514 for XLM-R, 512 for e5-small)."""
    return int(getattr(teacher.config, "max_position_embeddings", 512))


def _projection(rows: torch.Tensor, hidden: int, seed: int) -> torch.Tensor:
    """``[teacher hidden, hidden]``: identity when equal, a random isometry when wider, else the top principal
    directions of ``rows`` (their dot products are kept as well as ``hidden`` dimensions allow)."""
    t_hidden = rows.shape[1]
    if hidden == t_hidden:
        return torch.eye(hidden)
    if hidden > t_hidden:
        g = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(hidden, hidden, generator=g))
        return q[:t_hidden]
    _, _, vh = torch.linalg.svd(rows - rows.mean(0), full_matrices=False)
    return vh[:hidden].T


@torch.no_grad()
def init_embeddings_from_teacher(student: BertModel, teacher, id_map: list[int], seed: int = 0) -> str:
    """Initialise the student's word embeddings from the teacher's rows of the kept pieces (``id_map``),
    projected to the student's width (see :func:`_projection`); for a BERT teacher also the position and
    token-type embeddings and, at equal width, the embedding LayerNorm. Returns a description."""
    t_word = teacher.get_input_embeddings().weight.detach().float().cpu()[torch.as_tensor(id_map)]
    proj = _projection(t_word, student.config.hidden_size, seed)
    emb = student.embeddings
    emb.word_embeddings.weight.copy_(t_word @ proj)
    what = ["word"]
    t_emb = getattr(teacher, "embeddings", None)
    if teacher.config.model_type == "bert" and t_emb is not None:
        n = min(emb.position_embeddings.weight.shape[0], t_emb.position_embeddings.weight.shape[0])
        emb.position_embeddings.weight[:n].copy_(t_emb.position_embeddings.weight[:n].float().cpu() @ proj)
        n = min(emb.token_type_embeddings.weight.shape[0], t_emb.token_type_embeddings.weight.shape[0])
        emb.token_type_embeddings.weight[:n].copy_(
            t_emb.token_type_embeddings.weight[:n].float().cpu() @ proj
        )
        what += ["position", "token type"]
        if student.config.hidden_size == teacher.config.hidden_size:
            emb.LayerNorm.load_state_dict(t_emb.LayerNorm.state_dict())
            what.append("LayerNorm")
    kind = "copied" if student.config.hidden_size == teacher.config.hidden_size else "projected"
    return f"teacher ({', '.join(what)} embeddings {kind})"
