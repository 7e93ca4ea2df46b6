"""Initialisation and every-weight-trained options of ``zoo distill`` on the real xh corpus (smoke preset):
the hidden-state loss, teacher-layer init, the init-only baseline saved beside the student.

Teachers are FIXTURES with random weights and the real XLM-R tokenizer: the tiny one of test_distill_run.py
(2 layers x 32) and a 6-layer, 384-wide one (FFN 1536, 12 heads) that a 4-layer xs student (384 wide, FFN
1536, 6 heads) can copy layers from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_distill_run import _module_work_dir, env  # noqa: F401 (fixtures, reused)

from zoo import paths
from zoo.distill.presets import get_preset
from zoo.distill.record import DistillationRecord
from zoo.distill.run import distill
from zoo.distill.student import teacher_layer_map
from zoo.errors import UsageError
from zoo.models import ModelRef, init_is_random, resolve_model, student_ref
from zoo.registry import get_language
from zoo.teachers import content_revision

LAST_FFN = ("intermediate.dense.weight", "output.dense.weight", "attention.output.dense.weight")


@pytest.fixture(scope="module")
def wide_teacher(tmp_path_factory) -> Path:
    from conftest import xlmr_tokenizer_json
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    out = tmp_path_factory.mktemp("wide-teacher")
    XLMRobertaTokenizerFast(tokenizer_file=str(xlmr_tokenizer_json()), model_max_length=512).save_pretrained(
        out
    )
    torch.manual_seed(1)
    cfg = BertConfig(
        vocab_size=250002,
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
        pad_token_id=1,
    )
    BertModel(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def plain(env, tiny_teacher) -> Path:  # noqa: F811
    """Relation loss only, random init (hidden_loss_weight=0; init_layers=auto keeps the encoder random
    because the embeddings are random)."""
    out = Path(env["ZOO_WORK_DIR"]) / "elsewhere" / "time-xh-xs-plain"
    return distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out,
                   overrides={"init_layers": "auto"})  # fmt: skip


@pytest.fixture(scope="module")
def hidden(env, tiny_teacher) -> Path:  # noqa: F811
    """With the hidden-state loss: student 384 wide, teacher 32, so through the learned map."""
    out = Path(env["ZOO_WORK_DIR"]) / "elsewhere" / "time-xh-xs-hidden"
    overrides = {"hidden_loss_weight": "1.0"}
    return distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out, overrides=overrides)


@pytest.fixture(scope="module")
def copied(env, wide_teacher) -> Path:  # noqa: F811
    """Teacher-layer init from layer 5 of 6 (not the teacher's last), in the zoo's own student directory
    (init_layers=auto copies: the widths are equal)."""
    overrides = {"init_layers": "auto", "init_embeddings": "teacher", "teacher_layer": "5"}
    return distill("xh", "xs", preset="smoke", teacher=str(wide_teacher), overrides=overrides)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    """The encoder's tensors (with an MLM head they are stored under ``bert.``; the head is left out)."""
    tensors = load_file(str(path / "model.safetensors"))
    return {k.removeprefix("bert."): v for k, v in tensors.items() if not k.startswith("cls.")}


def test_the_hidden_state_loss_trains_the_last_ffn_and_is_not_published(plain, hidden):
    for out, trained in ((plain, False), (hidden, True)):
        final, init = _weights(out), _weights(out / "init")
        assert final.keys() == init.keys() and not [
            k for k in final if k.startswith(("pooler.", "hidden_map."))
        ]
        for name in LAST_FFN:
            key = f"encoder.layer.3.{name}"
            assert torch.equal(final[key], init[key]) is not trained, (out.name, key)
        assert not torch.equal(
            final["encoder.layer.3.attention.self.query.weight"],
            init["encoder.layer.3.attention.self.query.weight"],
        )
    record = DistillationRecord.in_dir(hidden)
    assert record.loss.hidden_state.weight == 1.0 and record.loss.hidden_state.teacher_layer == 2
    assert "384 -> 32" in record.loss.hidden_state.map and "not saved" in record.loss.hidden_state.map
    assert DistillationRecord.in_dir(plain).loss.hidden_state is None
    # the held-out loss is the relation loss plus the weighted MSE; the relation term is kept apart
    tr = record.training
    run = paths.work_dir() / "runs" / "distill" / hidden.name
    history = json.loads((run / "log_history.json").read_text())
    evals = {h["step"]: h for h in history if "eval_loss" in h}
    assert [s for s, _ in tr.heldout_relation_loss_curve] == [s for s, _ in tr.heldout_loss_curve]
    for step, relation in tr.heldout_relation_loss_curve:
        assert 0 < relation < evals[step]["eval_loss"]
        mse = evals[step]["eval_hidden_mse"]
        assert evals[step]["eval_loss"] == pytest.approx(relation + 1.0 * mse, rel=1e-4)
    assert DistillationRecord.in_dir(plain).training.heldout_relation_loss_curve is None
    # the map trains with the student and lives in the run's checkpoints (a resumed run keeps it)
    ckpt = load_file(
        str(paths.work_dir() / "runs" / "distill" / hidden.name / "checkpoint-6" / "model.safetensors")
    )
    assert ckpt["hidden_map.weight"].shape == (32, 384)
    # the untrained groups the runs produced: the frozen last-layer blocks only without the hidden loss
    groups = {
        out: [g.parameters for g in DistillationRecord.in_dir(out).student.untrained_list()]
        for out in (plain, hidden)
    }
    frozen = "encoder.layer.3.attention.output, encoder.layer.3.intermediate, encoder.layer.3.output"
    assert groups[plain][0] == frozen and frozen not in groups[hidden]
    assert "embeddings.token_type_embeddings row 1" in groups[hidden]
    longest = max(len(s) for s in _train_sequences())
    assert longest <= 32 and f"embeddings.position_embeddings rows {longest}-511" in groups[hidden]


def _train_sequences() -> list[list[int]]:
    """The training sequences of the runs, read back from the tokenised-corpus cache."""
    from datasets import load_from_disk

    dirs = list(paths.cache_dir().glob("distill-data/*/data"))
    assert dirs
    return [s for d in dirs for s in load_from_disk(str(d))["train"]["input_ids"]]


def test_teacher_layer_map_is_evenly_spaced_and_ends_at_the_distilled_layer():
    assert teacher_layer_map(4, 12) == [3, 6, 9, 12]
    assert teacher_layer_map(6, 12) == [2, 4, 6, 8, 10, 12]
    assert teacher_layer_map(4, 5) == [1, 2, 3, 5]
    assert teacher_layer_map(4, 4) == [1, 2, 3, 4]
    with pytest.raises(UsageError, match="more than the distilled teacher layer 3"):
        teacher_layer_map(4, 3)


def test_teacher_layer_init_copies_the_spaced_teacher_layers(copied, wide_teacher):
    teacher = _weights(wide_teacher)
    init, final = _weights(copied / "init"), _weights(copied)
    expected = {
        0: 1,
        1: 2,
        2: 3,
        3: 5,
    }  # floor(i * 5 / 4) for student layers i = 1..4, 1-based teacher layers
    for i, j in expected.items():
        names = [k.removeprefix(f"encoder.layer.{i}.") for k in init if k.startswith(f"encoder.layer.{i}.")]
        assert len(names) == 16
        for name in names:
            assert torch.equal(init[f"encoder.layer.{i}.{name}"], teacher[f"encoder.layer.{j - 1}.{name}"]), (
                name
            )
    assert torch.equal(init["embeddings.LayerNorm.weight"], teacher["embeddings.LayerNorm.weight"])
    id_map = json.loads((copied / "id_map.json").read_text())["teacher_ids"]
    rows = teacher["embeddings.word_embeddings.weight"][torch.as_tensor(id_map)]
    assert torch.equal(init["embeddings.word_embeddings.weight"], rows)
    # training moved what the relation loss reaches, and left the frozen last-layer FFN at teacher layer 5
    assert not torch.equal(
        final["encoder.layer.3.attention.self.key.weight"],
        teacher["encoder.layer.4.attention.self.key.weight"],
    )
    assert torch.equal(
        final["encoder.layer.3.intermediate.dense.weight"],
        teacher["encoder.layer.4.intermediate.dense.weight"],
    )
    record = DistillationRecord.in_dir(copied)
    assert "encoder layers 1-4 copied from teacher layers 1, 2, 3, 5" in record.student.embedding_init
    assert "re-split 12 -> 6" in record.student.embedding_init
    assert "(teacher layer 5)" in record.student.untrained_list()[0].reason


def test_teacher_layer_init_refuses_other_widths_and_random_embeddings(env, tiny_teacher):  # noqa: F811
    overrides = {"init_layers": "teacher", "init_embeddings": "teacher"}
    out = Path(env["ZOO_WORK_DIR"]) / "elsewhere" / "time-xh-xs-narrow"
    with pytest.raises(UsageError, match="student 384 wide with FFN 1536, teacher 32 wide with FFN 64"):
        distill("xh", "xs", preset="smoke", teacher=str(tiny_teacher), out=out, overrides=overrides)
    with pytest.raises(UsageError, match="init_layers=teacher"):
        get_preset("smoke", {"init_layers": "teacher"})


def test_auto_layer_init_copies_only_where_the_shapes_allow():
    from transformers import BertConfig, BertModel

    from zoo.distill.student import layer_copy_problem

    def bert(hidden: int, ffn: int, layers: int) -> BertModel:
        cfg = BertConfig(vocab_size=50, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
                         num_attention_heads=4, max_position_embeddings=16)  # fmt: skip
        return BertModel(cfg, add_pooling_layer=False)

    teacher = bert(32, 64, 6)
    assert layer_copy_problem(bert(32, 64, 4), teacher, 6) is None
    assert "student 48 wide with FFN 64, teacher 32 wide" in layer_copy_problem(bert(48, 64, 4), teacher, 6)
    assert "student 32 wide with FFN 128" in layer_copy_problem(bert(32, 128, 4), teacher, 6)
    too_deep = layer_copy_problem(bert(32, 64, 4), teacher, 3)
    assert "4 layers, more than the distilled teacher layer 3" in too_deep


def test_the_init_only_baseline_loads_resolves_and_is_the_initialised_student(copied, plain):
    from transformers import AutoModel

    init_dir = copied / "init"
    model, info = AutoModel.from_pretrained(str(init_dir), add_pooling_layer=False, output_loading_info=True)
    assert not any(info.values()), info  # every weight of the checkpoint, nothing fresh
    _, info = AutoModel.from_pretrained(str(init_dir), output_loading_info=True)
    assert info["missing_keys"] == {"pooler.dense.weight", "pooler.dense.bias"}  # what the card warns about
    loaded = model.state_dict()
    init, final = _weights(init_dir), _weights(copied)
    assert all(torch.equal(loaded[k], init[k]) for k in init)
    assert not torch.equal(
        init["encoder.layer.0.attention.self.query.weight"],
        final["encoder.layer.0.attention.self.query.weight"],
    )
    assert {p.name for p in init_dir.iterdir()} >= {"config.json", "tokenizer.json", "id_map.json"}

    spec = get_language("xh")
    (ref,) = resolve_model(spec, "init-xh-xs")
    assert (ref.id, ref.role, ref.size, Path(ref.path)) == ("init-xh-xs", "init-baseline", "xs", init_dir)
    assert ref.revision() == content_revision(init_dir) != content_revision(copied)
    assert ref.revision().startswith("sha256:")
    assert ref.load_model().config.num_hidden_layers == 4
    assert ref.load_tokenizer()("Molo")["input_ids"][0] == 0  # the student tokenizer, copied beside it
    # the student's content revision and its published files do not include init/
    from zoo.hub import publishable_files

    files, skipped = publishable_files(copied)
    assert "init/" in skipped and all("/" not in f.name for f in files)
    # teacher-copied init: a baseline of its own; an all-random init is the random baseline again
    assert not init_is_random(student_ref(spec, "xs"))
    assert init_is_random(ModelRef(id="time-xh-xs", role="student", path=str(plain), size="xs"))
    assert "encoder random" in DistillationRecord.in_dir(plain).student.embedding_init
