"""Student models: BERT with learned absolute positions in the shapes of ``registry.SIZES``.

Weights are randomly initialised with BERT's initialiser, as TiME does; optionally (preset field
``init_embeddings="teacher"``) the embeddings start from the teacher's rows of the kept pieces. The
embedding matrix has one row per piece of the pruned vocabulary.
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
    """A randomly initialised ``BertModel`` (with pooler, so that ``AutoModel`` finds every weight)."""
    set_seed(seed)
    return BertModel(config)


UNTRAINED_PARAMETERS = (
    "the last layer's attention output and FFN, and the pooler: the relation loss does not reach them; "
    "they keep their random initialisation"
)
RANDOM_EMBEDDINGS = "random (BERT initialiser, std 0.02)"


def freeze_unreachable(model: BertModel) -> list[str]:
    """Freeze what the relation loss of the LAST layer cannot reach: that layer's attention output and
    feed-forward blocks, and the pooler. They keep their initialisation (as in MiniLMv2) and stay out of the
    optimiser and of DDP's gradient buckets. Returns the frozen parameter names."""
    last = model.config.num_hidden_layers - 1
    prefixes = (
        f"encoder.layer.{last}.attention.output.",
        f"encoder.layer.{last}.intermediate.",
        f"encoder.layer.{last}.output.",
        "pooler.",
    )
    frozen = []
    for name, p in model.named_parameters():
        if name.startswith(prefixes):
            p.requires_grad_(False)
            frozen.append(name)
    return frozen


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
    return f"teacher ({', '.join(what)} embeddings {kind}); encoder random (BERT initialiser)"
