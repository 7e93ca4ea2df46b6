"""TEST FIXTURES for the lm-eval tests: a tiny masked LM with random (seeded) weights, not a trained model."""

from __future__ import annotations

from pathlib import Path

from conftest import xlmr_tokenizer_json


def build_tiny_mlm(out: Path, initializer_range: float = 0.02):
    """Save a 2-layer, 32-wide ``BertForMaskedLM`` (seed 0) with the real XLM-R tokenizer into ``out``;
    returns the tokenizer. A large ``initializer_range`` makes the predictions depend on context."""
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForMaskedLM, XLMRobertaTokenizerFast

    tok = XLMRobertaTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(xlmr_tokenizer_json())), model_max_length=512
    )
    tok.save_pretrained(out)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=514, pad_token_id=tok.pad_token_id,
                        initializer_range=initializer_range)
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(out)
    return tok
