"""The one fine-tuning loop: length-grouped batches, parameter groups, an RNG-neutral numerics probe, and the
UD joint model and a tagger both training through it."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest
import torch

from zoo.evaluation import finetune, numerics
from zoo.evaluation.finetune import decay_groups, length_grouped_batches
from zoo.evaluation.presets import PRESETS
from zoo.models import ModelRef
from zoo.registry import get_language


def test_length_grouped_batches_cover_every_example_once_in_seeded_length_groups():
    lengths = [random.Random(1).randint(1, 300) for _ in range(1000)]
    batches = length_grouped_batches(lengths, 8, random.Random(0))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    assert all(len(b) <= 8 for b in batches) and sum(len(b) < 8 for b in batches) == 0  # 1000 = 125 x 8
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 20  # pools of 400 sorted by length: batches of near-equal lengths (random ones: ~230)
    assert batches == length_grouped_batches(lengths, 8, random.Random(0))
    assert batches != length_grouped_batches(lengths, 8, random.Random(1))


def test_decay_groups_spare_biases_and_layer_norms():
    from transformers import BertConfig, BertForTokenClassification

    model = BertForTokenClassification(
        BertConfig(
            vocab_size=30,
            hidden_size=8,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=16,
            num_labels=3,
        )
    )
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    decay, no_decay = decay_groups(model, PRESETS["standard"])
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == PRESETS["standard"].weight_decay and no_decay["weight_decay"] == 0.0
    assert {names[id(p)] for p in no_decay["params"]} == {
        n for n, _ in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n
    }
    assert "classifier.weight" in {names[id(p)] for p in decay["params"]}
    assert "bert.embeddings.word_embeddings.weight" not in {names[id(p)] for p in decay["params"]}  # frozen


def test_the_numerics_probe_leaves_the_random_stream_alone():
    model = _tiny_classifier()
    batch = {"input_ids": torch.randint(0, 30, (4, 6)), "labels": torch.tensor([0, 1, 0, 1])}
    torch.manual_seed(3)
    expected = torch.rand(5)
    torch.manual_seed(3)
    times = numerics.probe(model, batch, rounds=1)
    assert set(times) == {"fp32_step_s", "bf16_step_s"}
    assert torch.equal(torch.rand(5), expected)  # dropout in the probe drew from a forked generator
    assert all(p.grad is None for p in model.parameters())


def _tiny_classifier():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    return BertForSequenceClassification(
        BertConfig(
            vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
        )
    )


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n", {"avx512_bf16"}),
        ("flags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\nflags\t\t: fpu amx_bf16\n", {"amx_bf16"}),
        ("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n", {"bf16"}),
        ("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512_vnni\n", set()),
    ],
    ids=["avx512-bf16", "amx", "arm", "none"],
)
def test_native_bf16_flags_are_read_from_cpuinfo(tmp_path, cpuinfo, expected):
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert numerics.cpu_bf16_flags(path) == expected
    assert numerics.cpu_bf16_flags(tmp_path / "missing") is None  # unknown (not Linux): bf16 is probed


def test_the_probe_times_fp32_alone_or_stops_when_bf16_is_hopeless():
    model = _tiny_classifier()
    batch = {"input_ids": torch.randint(0, 30, (4, 6)), "labels": torch.tensor([0, 1, 0, 1])}
    assert set(numerics.probe(model, batch, rounds=2, bf16=False)) == {"fp32_step_s"}
    calls = {"fp32": 0, "bf16": 0}

    def slow_bf16(m, b):  # a bf16 step 50 ms longer: over twice the tiny model's fp32 step
        bf16 = torch.is_autocast_enabled("cpu")
        calls["bf16" if bf16 else "fp32"] += 1
        if bf16:
            time.sleep(0.05)
        return m(**b)["loss"]

    times = numerics.probe(model, batch, rounds=3, loss=slow_bf16)
    assert calls == {"fp32": 2, "bf16": 2}  # one warm-up and one timed round each, not three
    assert times["bf16_step_s"] > numerics.BF16_HOPELESS_RATIO * times["fp32_step_s"]


@pytest.fixture(scope="module")
def tiny_model(tiny_encoder) -> ModelRef:
    return ModelRef(id="tiny", role="model", path=str(tiny_encoder))


def test_the_ud_model_and_a_tagger_both_train_through_the_one_loop(
    tiny_model, data_root, tmp_path, monkeypatch
):
    """Both heads run ``finetune.fit``: its batches, its per-epoch listener, its selection record."""
    from zoo.evaluation.tagging import run_tagging_task
    from zoo.evaluation.ud.task import run_ud_task

    seen: dict[str, list] = {"batches": [], "epochs": []}
    real = finetune.length_grouped_batches

    def spy(lengths, batch_size, rng):
        seen["batches"].append(len(lengths))
        return real(lengths, batch_size, rng)

    monkeypatch.setattr(finetune, "length_grouped_batches", spy)
    preset = dataclasses.replace(
        PRESETS["smoke"], max_epochs=2, patience=5, max_train_examples=32, max_eval_examples=16
    )
    token = finetune.EPOCH_LISTENER.set(lambda epoch, score, elapsed: seen["epochs"].append(epoch))
    try:
        ud_run = run_ud_task(tiny_model, get_language("ga").task("idt"), 0, preset, tmp_path / "ud")
        pos_run = run_tagging_task(
            tiny_model, get_language("xh").task("masakhapos"), 0, preset, tmp_path / "pos"
        )
    finally:
        finetune.EPOCH_LISTENER.reset(token)
    # two epochs of each head: the UD model's 32 sentences, the tagger's windows (at least one per sentence)
    ud_rows, pos_rows = seen["batches"][0], seen["batches"][2]
    assert seen["batches"] == [ud_rows, ud_rows, pos_rows, pos_rows] and ud_rows == 32 and pos_rows >= 32
    assert seen["epochs"] == [1, 2, 1, 2]
    for run, rows in ((ud_run, ud_rows), (pos_run, pos_rows)):
        d = run.details
        assert d["epochs_run"] == 2 and set(d["curve"]) == {1, 2} and set(d["train_loss"]) == {1, 2}
        assert d["steps"] == 2 * -(-rows // preset.batch_size)
        assert d["numerics"]["mode"] == "auto" and "fp32_step_s" in d["numerics"]
        assert d["time_s"]["train"] > 0 and d["time_s"]["select"] > 0
    assert ud_run.details["head_lr"] == 20 * preset.learning_rate and ud_run.details["frozen_word_embeddings"]
