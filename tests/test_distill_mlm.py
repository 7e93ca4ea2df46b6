"""The masked-LM head added after relation distillation (zoo.distill.mlm_head, mlm_eval, mlm_teacher).

The end-to-end tests distil on the real xh corpus with the smoke preset and the tiny random teachers of
tests/test_distill_run.py; the KL path uses a tiny RANDOM XLM-R masked LM built from a config (a test
fixture, not a trained model).
"""
# ruff: noqa: F811 (the fixtures imported from test_distill_run are test arguments here)

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import xlmr_tokenizer_json
from safetensors.torch import load_file
from test_distill_run import _module_work_dir, env, smoke_student  # noqa: F401 (fixtures)

from zoo import card as cards
from zoo.distill.checkpoints import run_dir_for
from zoo.distill.mlm_eval import (
    eval_positions,
    masked_accuracy,
    pseudo_perplexity,
    unigram_accuracy,
    unigram_counts,
    unigram_perplexity,
)
from zoo.distill.mlm_head import HEAD_DIR
from zoo.distill.mlm_teacher import TeacherLM, restricted_kl
from zoo.distill.record import DistillationRecord
from zoo.distill.run import distill

HEAD_KEYS = {
    "cls.predictions.bias",
    "cls.predictions.transform.dense.weight",
    "cls.predictions.transform.dense.bias",
    "cls.predictions.transform.LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias",
}
SENTENCE = "Umongameli uthe urhulumente uza kwakha <mask> ezintsha."


# ---- pure functions, hand-made cases ----


def test_unigram_baseline_on_a_hand_made_case():
    seqs = [[0, 5, 5, 6, 2], [0, 6, 5, 2]]  # 0 and 2 are special
    counts = unigram_counts(seqs, 8, special=[0, 2])
    assert counts.tolist() == [0, 0, 0, 0, 0, 3, 2, 0]
    assert unigram_accuracy(counts, [5, 6, 5, 7]) == (5, 0.5)
    # add-one: p(5) = 4/13, p(6) = 3/13, p(7) = 1/13
    expected = math.exp(-(2 * math.log(4 / 13) + math.log(3 / 13) + math.log(1 / 13)) / 4)
    assert unigram_perplexity(counts, [5, 6, 5, 7]) == pytest.approx(expected, rel=1e-12)
    assert unigram_accuracy(np.array([0, 2, 2]), [2, 1]) == (1, 0.5)  # a tie goes to the lowest id


def test_eval_positions_are_seeded_and_skip_special_pieces():
    seqs = [[0] + list(range(10, 30)) + [2], [0, 7, 2], [0, 2]]
    a = eval_positions(seqs, [0, 2], 0.15, seed=3)
    assert [len(p) for p in a] == [3, 1, 0]  # round(0.15 x 20), at least one, none without candidates
    assert all(seqs[0][i] not in (0, 2) for i in a[0]) and a[1].tolist() == [1]
    assert [p.tolist() for p in eval_positions(seqs, [0, 2], 0.15, seed=3)] == [p.tolist() for p in a]
    assert any(
        eval_positions(seqs, [0, 2], 0.15, seed=s)[0].tolist() != a[0].tolist() for s in range(4, 10)
    )


def test_accuracy_and_pseudo_perplexity_of_hand_made_lms():
    vocab = 10

    def uniform(ids, att, sel):
        return torch.zeros(int(sel.sum()), vocab)

    def always_5(ids, att, sel):
        return torch.nn.functional.one_hot(torch.full((int(sel.sum()),), 5), vocab).float()

    seqs = [[0, 5, 6, 5, 2], [0, 5, 7, 2, 1, 1]]
    pppl, scored = pseudo_perplexity(uniform, seqs, [0, 1, 2], 3, 1, batch_size=2, device="cpu")
    assert pppl == pytest.approx(vocab) and scored == [5, 6, 5, 5, 7]
    pos = [np.array([1, 2, 3]), np.array([1, 2])]
    (acc,), targets = masked_accuracy([always_5], seqs, pos, 3, 1, batch_size=1, device="cpu")
    assert targets == [5, 6, 5, 5, 7] and acc == pytest.approx(3 / 5)


def test_restricted_kl_on_a_hand_made_case():
    teacher = torch.tensor([[0.0, math.log(2.0)]])  # p = (1/3, 2/3)
    student = torch.tensor([[0.0, 0.0]])  # q = (1/2, 1/2)
    expected = (1 / 3) * math.log((1 / 3) / 0.5) + (2 / 3) * math.log((2 / 3) / 0.5)
    assert float(restricted_kl(student, teacher)) == pytest.approx(expected, rel=1e-6)
    assert float(restricted_kl(teacher, teacher)) == pytest.approx(0.0, abs=1e-7)


# ---- a real smoke distillation (offline teacher kind: no MLM head -> corpus MLM) ----


def test_the_student_loads_as_masked_lm_and_fills_a_mask_offline(smoke_student, tmp_path):
    from zoo import card, hub

    cache = tmp_path / "hub-cache"  # published as a user gets it: pipeline("fill-mask", model="time/time-xh")
    card.write_card("xh", "xs", model_dir=smoke_student)
    hub.publish_local(hub.plan_publish("xh", "xs", model_dir=smoke_student, allow_unevaluated=True), cache)
    script = textwrap.dedent(
        f"""
        import json, sys
        from transformers import AutoModel, AutoModelForMaskedLM, pipeline
        d = {str(smoke_student)!r}
        enc, enc_info = AutoModel.from_pretrained(d, output_loading_info=True, add_pooling_layer=False)
        _, plain_info = AutoModel.from_pretrained(d, output_loading_info=True)
        mlm, mlm_info = AutoModelForMaskedLM.from_pretrained(d, output_loading_info=True)
        fill = pipeline("fill-mask", model="time/time-xh")
        out = fill({SENTENCE!r})
        print(json.dumps({{
            "encoder": type(enc).__name__, "encoder_missing": sorted(enc_info["missing_keys"]),
            "encoder_unexpected": sorted(enc_info["unexpected_keys"]),
            "plain_missing": sorted(plain_info["missing_keys"]),
            "mlm": type(mlm).__name__, "mlm_missing": sorted(mlm_info["missing_keys"]),
            "mlm_unexpected": sorted(mlm_info["unexpected_keys"]),
            "tied": mlm.cls.predictions.decoder.weight.data_ptr()
                    == mlm.bert.embeddings.word_embeddings.weight.data_ptr(),
            "fills": [(o["token_str"], o["sequence"], o["score"]) for o in out],
            "zoo": any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)}}))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert (got["encoder"], got["mlm"], got["zoo"]) == ("BertModel", "BertForMaskedLM", False)
    assert got["encoder_missing"] == [] and set(got["encoder_unexpected"]) == HEAD_KEYS
    # no pooler is published (no objective trains one): plain AutoModel adds a random one, as the card says
    assert got["plain_missing"] == ["pooler.dense.bias", "pooler.dense.weight"]
    assert got["mlm_missing"] == [] and got["mlm_unexpected"] == []
    assert got["tied"]
    assert len(got["fills"]) == 5
    for token, sequence, score in got["fills"]:
        assert sequence.startswith("Umongameli uthe urhulumente uza kwakha") and "<mask>" not in sequence
        assert token.strip() in sequence and 0 < score <= 1


def test_the_head_step_leaves_the_encoder_bit_identical(smoke_student):
    rec = DistillationRecord.in_dir(smoke_student)
    best_dir = run_dir_for(smoke_student) / f"checkpoint-{rec.training.best_step}"
    best = load_file(str(best_dir / "model.safetensors"))
    final = load_file(str(smoke_student / "model.safetensors"))
    assert {f"bert.{k}" for k in best} | HEAD_KEYS == set(final)  # the decoder is tied: not stored twice
    assert all(torch.equal(best[k], final[f"bert.{k}"]) for k in best)
    assert json.loads((smoke_student / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_the_record_has_the_mlm_head_and_its_baseline(smoke_student, env):
    rec = DistillationRecord.in_dir(smoke_student)
    h = rec.mlm_head
    assert h is not None and h.objective == "mlm-corpus" and h.encoder_frozen
    assert h.steps == 4 and h.batch_size == 4 and len(h.train_loss_curve) == 4
    assert set(h.trained_parameters) == HEAD_KEYS
    assert h.trained_parameter_count == 384 * 384 + 3 * 384 + rec.vocab.kept_pieces
    e = h.heldout
    assert 0 <= e.accuracy <= 1 and 0 <= e.unigram_accuracy <= 1 and e.teacher_accuracy is None
    assert e.pseudo_perplexity > 1 and e.unigram_perplexity > 1 and e.pppl_sequences == 4
    # independently, from the tokenised corpus the run used (teacher ids; specials are ids 0-3 in XLM-R)
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    (data,) = Path(env["ZOO_CACHE_DIR"]).glob("distill-data/*/data")
    dd = load_from_disk(str(data))
    tok = AutoTokenizer.from_pretrained(str(smoke_student))
    special = set(tok.all_special_tokens)
    teacher_tok = AutoTokenizer.from_pretrained(rec.teacher.id)
    pieces = Counter(t for s in dd["train"]["input_ids"] for t in teacher_tok.convert_ids_to_tokens(s))
    assert e.unigram_piece == next(p for p, _ in pieces.most_common() if p not in special)
    held = [teacher_tok.convert_ids_to_tokens(s) for s in dd["heldout"]["input_ids"]]
    assert e.sequences == len(held)
    assert e.masked_positions == sum(max(1, round(0.15 * sum(p not in special for p in s))) for s in held)
    assert e.pppl_tokens == sum(sum(p not in special for p in s) for s in held[:4])
    assert tok.mask_token == "<mask>"


def test_the_card_reports_mlm_accuracy_against_the_unigram_baseline(smoke_student):
    text = cards.write_card("xh", "xs", model_dir=smoke_student).read_text(encoding="utf-8")
    e = DistillationRecord.in_dir(smoke_student).mlm_head.heldout
    assert "It also has a\nmasked-language-model head" in text
    assert f"Held-out masked-token accuracy **{100 * e.accuracy:.1f} %**" in text
    assert f"against {100 * e.unigram_accuracy:.1f} % for a unigram baseline" in text
    assert f"pseudo-perplexity {e.pseudo_perplexity:.1f} (add-one unigram: {e.unigram_perplexity:.1f})" in (
        text
    )


def _wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text(errors="replace") if path.is_file() else ""):
        assert proc.poll() is None, path.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.ci
def test_a_head_step_killed_midway_restarts_cleanly_and_a_finished_one_is_reused(env, tiny_teacher, tmp_path,
                                                                                 capfd):  # fmt: skip
    out = tmp_path / "time-xh-xs-head"
    run = run_dir_for(out)
    cmd = [sys.executable, "-m", "zoo.distill", "--lang", "xh", "--size", "xs", "--preset", "smoke"]
    cmd += ["--teacher", str(tiny_teacher), "--out", str(out), "--set", "mlm_head_steps=100000"]
    log = tmp_path / "killed.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        _wait_for(log, "MLM head: 100000 steps", proc)
        time.sleep(3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not out.exists() and not (run / HEAD_DIR).exists()
    capfd.readouterr()
    again = {"teacher": str(tiny_teacher), "out": out, "overrides": {"mlm_head_steps": "3"}}
    distill("xh", "xs", preset="smoke", **again)  # other head settings: the relation run is still reused
    err = capfd.readouterr().err
    assert "the run already stopped at step 6" in err and "MLM head: 3 steps" in err
    assert not list(run.glob(f".{HEAD_DIR}.*"))  # the killed run's partial directory, if any, is gone
    first = load_file(str(out / "model.safetensors"))
    assert DistillationRecord.in_dir(out).mlm_head.steps == 3
    distill("xh", "xs", preset="smoke", force=True, **again)
    err = capfd.readouterr().err
    assert "MLM head: reusing" in err and "MLM head: 3 steps" not in err
    second = load_file(str(out / "model.safetensors"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


# ---- the KL path: a teacher with an MLM head ----


@pytest.fixture(scope="module")
def tiny_xlmr_mlm_teacher(tmp_path_factory) -> Path:
    """A TEST FIXTURE, not a trained model: a 2-layer, 32-wide XLM-R masked LM with random weights (built
    from a config) and the real XLM-R tokenizer."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizerFast

    out = tmp_path_factory.mktemp("tiny-xlmr-mlm")
    tok = XLMRobertaTokenizerFast(tokenizer_file=str(xlmr_tokenizer_json()), model_max_length=512)
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=250002, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=514, pad_token_id=1)  # fmt: skip
    XLMRobertaForMaskedLM(cfg).save_pretrained(out)
    return out


def test_teacher_kl_path_distils_the_restricted_teacher_distribution(env, tiny_xlmr_mlm_teacher, tmp_path):
    from transformers import AutoModelForMaskedLM

    out = distill("xh", "xs", preset="smoke", teacher=str(tiny_xlmr_mlm_teacher), out=tmp_path / "kl",
                  overrides={"mlm_head_steps": "12", "mlm_head_lr": "0.01"})  # fmt: skip
    h = DistillationRecord.in_dir(out).mlm_head
    assert h.objective == "teacher-kl" and h.encoder_frozen and h.steps == 12
    assert h.heldout.teacher_accuracy is not None and 0 <= h.heldout.teacher_accuracy <= 1
    losses = [loss for _, loss in h.train_loss_curve]
    assert all(math.isfinite(x) and x >= 0 for x in losses) and losses[-1] < losses[0]
    assert type(AutoModelForMaskedLM.from_pretrained(str(out))).__name__ == "BertForMaskedLM"

    # the teacher's restricted logits are its full forward's logits at the kept pieces' columns
    teacher = AutoModelForMaskedLM.from_pretrained(str(tiny_xlmr_mlm_teacher)).eval()
    id_map = json.loads((out / "id_map.json").read_text())["teacher_ids"]
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, len(id_map), (2, 9), generator=g)
    ids[:, 0], ids[:, -1] = 0, 2
    att = torch.ones_like(ids)
    sel = torch.zeros_like(ids, dtype=torch.bool)
    sel[0, 3] = sel[1, 5] = sel[1, 6] = True
    with torch.no_grad():
        full = teacher(input_ids=torch.as_tensor(id_map)[ids], attention_mask=att).logits
    expected = full[sel][:, torch.as_tensor(id_map)]
    got = TeacherLM(teacher, id_map)(ids, att, sel)
    assert got.shape == (3, len(id_map)) and torch.allclose(got, expected, atol=1e-5)
