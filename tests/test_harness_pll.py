"""The lm-eval model type ``time-mlm``: PLL-word-l2r of a short sentence against a hand computation with the
same tiny masked LM (one plain forward per masked position), batching that does not change scores, and the
clear errors (generation; a checkpoint without an MLM head)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lm_eval")

import torch  # noqa: E402
from harness_fixtures import build_tiny_mlm  # noqa: E402
from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.api.registry import get_model  # noqa: E402

import zoo.harness.model  # noqa: E402,F401  (registers time-mlm)
from zoo.errors import UsageError  # noqa: E402

SENTENCE = "Molo ndiyabulela kakhulu"  # "hello, thank you very much": 3 words, 7 pieces
PIECES = ["<s>", "▁Mol", "o", "▁ndi", "ya", "bule", "la", "▁kakhulu", "</s>"]
# By hand, from PIECES: scoring position p masks p and the later pieces of its word (PLL-word-l2r).
L2R_MASKS = {1: [1, 2], 2: [2], 3: [3, 4, 5, 6], 4: [4, 5, 6], 5: [5, 6], 6: [6], 7: [7]}


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory) -> tuple[Path, object]:
    """The tiny masked LM's directory and tokenizer; large initial weights, so that the word rule matters."""
    out = tmp_path_factory.mktemp("tiny-mlm")
    return out, build_tiny_mlm(out, initializer_range=0.5)


@pytest.fixture(scope="module")
def lm(tiny_mlm):
    """The model loaded from its directory (the tokenizer object reused: loading a 250k-piece one takes
    seconds; tests/test_harness_tasks.py loads both from the directory)."""
    path, tok = tiny_mlm
    args = {"pretrained": str(path), "tokenizer": tok}
    return get_model("time-mlm").create_from_arg_obj(args, {"device": "cpu"})


def _hand_pll(tiny_mlm, positions: list[int], l2r: bool = True) -> tuple[float, bool]:
    """One plain forward of the tiny MLM per scored position, log-softmax at the masked position."""
    from transformers import AutoModelForMaskedLM

    model_dir, tok = tiny_mlm
    model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    ids = torch.tensor([tok(SENTENCE)["input_ids"]])
    assert tok.convert_ids_to_tokens(ids[0].tolist()) == PIECES
    total, greedy = 0.0, True
    for p in positions:
        masked = ids.clone()
        masked[0, L2R_MASKS[p] if l2r else [p]] = tok.mask_token_id
        with torch.no_grad():
            logits = model(input_ids=masked).logits[0, p]
        total += torch.log_softmax(logits, -1)[ids[0, p]].item()
        greedy = greedy and logits.argmax().item() == ids[0, p].item()
    return total, greedy


def _req(kind: str, *args: str) -> Instance:
    return Instance(request_type=kind, doc={}, arguments=args, idx=0)


# Relative tolerance: the sums are of large fp32 log-probabilities (weights drawn wide on purpose), and a
# batched forward differs from a single one in the last bits (|diff| 1.5e-4 on -110.8 seen on AMD EPYC);
# a wrong mask moves the sum by more than 0.1.
def test_pll_of_a_sentence_equals_the_hand_computation(lm, tiny_mlm):
    expected, expected_greedy = _hand_pll(tiny_mlm, list(L2R_MASKS))
    (got, greedy), = lm.loglikelihood([_req("loglikelihood", "", SENTENCE)])
    assert got == pytest.approx(expected, rel=1e-5)
    assert greedy == expected_greedy
    rolling = lm.loglikelihood_rolling([_req("loglikelihood_rolling", SENTENCE)])
    assert rolling[0] == pytest.approx(expected, rel=1e-5)
    plain, _ = _hand_pll(tiny_mlm, list(L2R_MASKS), l2r=False)  # the word rule changes the score
    assert abs(plain - expected) > 0.1


def test_a_continuation_is_scored_given_the_whole_text(lm, tiny_mlm):
    expected, _ = _hand_pll(tiny_mlm, [3, 4, 5, 6, 7])  # "ndiyabulela kakhulu", with "Molo" visible
    (got, _), = lm.loglikelihood([_req("loglikelihood", "Molo", " ndiyabulela kakhulu")])
    assert got == pytest.approx(expected, rel=1e-5)


def test_batching_and_the_head_shortcut_do_not_change_scores(lm):
    reqs = [_req("loglikelihood", "", SENTENCE), _req("loglikelihood", "Enye into: ", "yintoni le nto?"),
            _req("loglikelihood", "Molo", " ndiyabulela kakhulu, mhlobo wam wakudala")]
    batched = lm.loglikelihood(reqs)
    scorer = lm.scorer
    assert scorer.head is not None  # BERT's cls head runs on the masked positions only
    head, budget = scorer.head, scorer.max_tokens
    try:
        scorer.head, scorer.max_tokens = None, 1  # full logits, one masked copy per forward pass
        single = lm.loglikelihood(reqs)
    finally:
        scorer.head, scorer.max_tokens = head, budget
    assert [s for s, _ in batched] == pytest.approx([s for s, _ in single], rel=1e-5)


def test_generation_is_refused_with_the_model_type(lm):
    with pytest.raises(UsageError, match="time-mlm"):
        lm.generate_until([_req("generate_until", "Molo", "")])


def test_a_checkpoint_without_mlm_head_is_refused(tiny_encoder):
    with pytest.raises(UsageError, match="no masked-LM head"):
        get_model("time-mlm").create_from_arg_string(f"pretrained={tiny_encoder}", {"device": "cpu"})
