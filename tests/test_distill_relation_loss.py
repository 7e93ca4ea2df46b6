"""The MiniLMv2 relation loss against a plain-Python implementation, and its invariances."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

from zoo.distill.relation_loss import (
    QKVCapture,
    attention_modules,
    capture_qkv,
    compatible_heads,
    relation_loss,
)


def naive_relation_loss(teacher_qkv, student_qkv, mask, heads) -> float:
    """Loops over relations, sequences, heads, queries and keys; only real (mask 1) tokens take part."""
    total = 0.0
    for t_x, s_x in zip(teacher_qkv, student_qkv, strict=True):
        kl_sum, queries = 0.0, 0
        for b in range(mask.shape[0]):
            real = [i for i in range(mask.shape[1]) if mask[b, i] == 1]
            queries += len(real)
            for a in range(heads):
                dt, ds = t_x.shape[-1] // heads, s_x.shape[-1] // heads
                for i in real:

                    def dist(x, d, i=i, a=a, b=b, real=real):
                        q = x[b, i, a * d : (a + 1) * d].double().tolist()
                        logits = []
                        for j in real:
                            k = x[b, j, a * d : (a + 1) * d].double().tolist()
                            logits.append(sum(u * v for u, v in zip(q, k, strict=True)) / math.sqrt(d))
                        m = max(logits)
                        z = sum(math.exp(v - m) for v in logits)
                        return [math.exp(v - m) / z for v in logits]

                    p, q = dist(t_x, dt), dist(s_x, ds)
                    kl_sum += sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q, strict=True))
        total += kl_sum / (heads * queries)
    return total


def _random_qkv(b, n, hidden, seed):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, n, hidden, generator=g) * 2 for _ in range(3))


def test_equals_naive_loop_with_padding_and_different_widths():
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
    teacher = _random_qkv(3, 6, 24, seed=0)
    student = _random_qkv(3, 6, 12, seed=1)
    got = relation_loss(teacher, student, mask, heads=3).item()
    expected = naive_relation_loss(teacher, student, mask, heads=3)
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > 0.1


def test_padding_content_does_not_matter_and_padding_more_changes_nothing():
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    teacher = _random_qkv(2, 5, 16, seed=2)
    student = _random_qkv(2, 5, 8, seed=3)
    base = relation_loss(teacher, student, mask, heads=4)
    garbage = tuple(torch.where(mask.bool()[..., None], x, torch.full_like(x, 1e3)) for x in teacher)
    assert relation_loss(garbage, student, mask, heads=4).item() == pytest.approx(base.item(), rel=1e-6)
    pad = 3  # three more padding positions with random content
    more_mask = torch.cat([mask, torch.zeros(2, pad, dtype=mask.dtype)], dim=1)
    more_t = tuple(torch.cat([x, torch.randn(2, pad, x.shape[-1])], dim=1) for x in teacher)
    more_s = tuple(torch.cat([x, torch.randn(2, pad, x.shape[-1])], dim=1) for x in student)
    assert relation_loss(more_t, more_s, more_mask, heads=4).item() == pytest.approx(base.item(), rel=1e-6)


def test_gradients_are_finite_and_zero_on_padding():
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    teacher = _random_qkv(2, 4, 8, seed=4)
    student = tuple(x.requires_grad_() for x in _random_qkv(2, 4, 8, seed=5))
    relation_loss(teacher, student, mask, heads=2).backward()
    for x in student:
        assert torch.isfinite(x.grad).all()
        assert x.grad[0, 3].abs().sum() == 0
        assert x.grad[0, :3].abs().sum() > 0


def test_fp32_under_bf16_inputs():
    mask = torch.ones(1, 5, dtype=torch.long)
    teacher = _random_qkv(1, 5, 8, seed=6)
    student = _random_qkv(1, 5, 8, seed=7)
    loss = relation_loss([x.bfloat16() for x in teacher], [x.bfloat16() for x in student], mask, 2)
    assert loss.dtype == torch.float32


def _tiny_bert(seed, layers=2, hidden=32, heads=4, vocab=50):
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
        initializer_range=0.3,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    return BertModel(cfg).eval()


def test_zero_when_student_is_the_teacher_and_positive_otherwise():
    teacher = _tiny_bert(0)
    same = copy.deepcopy(teacher)
    other = _tiny_bert(1)
    ids = torch.randint(4, 50, (3, 7))
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 6 + [0]])
    with (
        QKVCapture(teacher, 2, stop_after=True) as tc,
        QKVCapture(same, -1) as sc,
        QKVCapture(other, -1) as oc,
    ):
        with torch.no_grad():
            t = capture_qkv(teacher, tc, input_ids=ids, attention_mask=mask)
            s = capture_qkv(same, sc, input_ids=ids, attention_mask=mask)
            o = capture_qkv(other, oc, input_ids=ids, attention_mask=mask)
    assert relation_loss(t, s, mask, heads=4).item() == pytest.approx(0.0, abs=1e-6)
    assert relation_loss(t, o, mask, heads=4).item() > 1e-3


def test_padding_a_batch_does_not_change_the_loss_of_real_models():
    teacher, student = _tiny_bert(0, layers=3, hidden=48, heads=4), _tiny_bert(1, hidden=32)
    ids = torch.randint(4, 50, (2, 6))
    mask = torch.ones(2, 6, dtype=torch.long)
    padded = torch.cat([ids, torch.ones(2, 5, dtype=torch.long)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(2, 5, dtype=torch.long)], dim=1)
    with QKVCapture(teacher, 2, stop_after=True) as tc, QKVCapture(student, -1) as sc, torch.no_grad():
        losses = []
        for x, m in ((ids, mask), (padded, padded_mask)):
            t = capture_qkv(teacher, tc, input_ids=x, attention_mask=m)
            s = capture_qkv(student, sc, input_ids=x, attention_mask=m)
            losses.append(relation_loss(t, s, m, heads=4).item())
    assert losses[0] > 1e-4
    assert losses[1] == pytest.approx(losses[0], rel=1e-4)


def test_capture_layer_and_early_stop():
    model = _tiny_bert(0, layers=3)
    ids = torch.randint(4, 50, (1, 5))
    calls = []
    model.encoder.layer[2].register_forward_hook(lambda *a: calls.append(3))
    with QKVCapture(model, 2, stop_after=True) as cap, torch.no_grad():
        q, k, v = capture_qkv(model, cap, input_ids=ids)
        expected_q = model.encoder.layer[1].attention.self.query
    assert calls == []  # the forward stopped inside layer 2
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states[1]
        assert torch.allclose(q, expected_q(hidden), atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        QKVCapture(model, 4)


def test_hooks_find_xlm_roberta_attention():
    cfg = XLMRobertaConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
    )
    assert len(attention_modules(XLMRobertaModel(cfg))) == 2


def test_compatible_heads():
    assert compatible_heads(12, 384, 384) == 12
    assert compatible_heads(12, 384, 768) == 12
    assert compatible_heads(12, 384, 512) == 8  # gcd 128: 12 does not divide it
    assert compatible_heads(64, 1024, 384) == 64
