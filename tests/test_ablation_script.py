"""scripts/ablation.py on the real xh corpus and MasakhaPOS, with the tiny teacher and the smoke presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zoo.evaluation.presets import get_preset
from zoo.evaluation.runner import evaluate, parse_tasks
from zoo.models import ModelRef, constant_baseline_ref
from zoo.registry import get_language

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def ablation(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import ablation

    return ablation


def _pos_record(results: Path, model_id: str) -> dict:
    (path,) = (results / "xh" / model_id).glob("eval_masakhapos_*_seed0.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_two_rows_distil_score_and_tabulate_against_the_reference_teacher(
    ablation, tiny_teacher, data_root, tmp_path, monkeypatch, capsys
):
    ref_work = tmp_path / "reference"
    monkeypatch.setenv("ZOO_WORK_DIR", str(ref_work))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    spec = get_language("xh")
    pos = parse_tasks(spec, "masakhapos")
    teacher = ModelRef(id="tiny-teacher", role="teacher", path=str(tiny_teacher))
    evaluate(spec, [teacher, constant_baseline_ref()], pos, [0], get_preset("smoke"))

    study = tmp_path / "study"
    argv = ["--rows", "random-rel,emb-hid", "--preset", "smoke", "--minutes", "5", "--tasks", "masakhapos"]
    argv += ["--eval-preset", "smoke", "--teacher", str(tiny_teacher), "--study", str(study)]
    argv += ["--distill-set", "mlm_head_steps=0", "--jobs", "1", "--with-init"]
    assert ablation.main(argv) == 0
    text = (study / "ablation.md").read_text(encoding="utf-8")
    assert text in capsys.readouterr().out

    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert set(rows) == {"random-rel", "emb-hid", "random (before distillation)", "emb (before distillation)",
                         "teacher", "constant baseline"}  # fmt: skip
    teacher_acc = _pos_record(ref_work / "results", "tiny-teacher")["scores"]["accuracy"]
    floor = _pos_record(ref_work / "results", "constant")["scores"]["accuracy"]
    for row, weight in (("random-rel", 0.0), ("emb-hid", 1.0)):
        rec = json.loads((study / "students" / f"abl-xh-xs-{row}" / "distillation.json").read_text())
        assert rec["preset"]["values"]["max_wall_s"] == 300.0
        assert rec["preset"]["values"]["hidden_loss_weight"] == weight
        assert rec["preset"]["values"]["mlm_head_steps"] == 0  # --distill-set, for every row alike
        assert rec["stopping"]["stop_reason"] == "budget" and rec["stopping"]["step"] == 6
        # the relation term alone: the whole held-out loss when there is no hidden-state term
        curve = rec["training"]["heldout_relation_loss_curve" if weight else "heldout_loss_curve"]
        best_step, best = min(curve, key=lambda p: p[1])
        pos = _pos_record(study / "results", f"abl-xh-xs-{row}")
        acc, mark = pos["scores"]["accuracy"], "" if pos["details"]["converged"] else " †"
        cells = rows[row].strip("| ").split(" | ")
        assert cells[3] == "budget at step 6" and cells[5] == f"{best:.3f} (step {best_step})"
        if teacher_acc - floor > 0:  # retention only for a teacher above the constant baseline
            assert cells[6] == f"{acc:.1f} (1 seed){mark}, {100 * acc / teacher_acc:.1f} %"
        else:
            assert cells[6] == f"{acc:.1f} (1 seed){mark}, n/a (teacher at chance)"
    assert rows["emb (before distillation)"].strip("| ").split(" | ")[1] == "teacher embeddings"
    assert rows["constant baseline"].strip("| ").split(" | ")[-1] == f"{floor:.1f}"
    assert not (ref_work / "results" / "xh" / "abl-xh-xs-random-rel").exists()  # the study has its own store

    assert ablation.main(argv[:-1] + ["--table-only"]) == 0  # rerun: nothing to run, the same table
    assert text in capsys.readouterr().out
    # a rerun with another shared field keeps the finished students and says so
    other = [a if a != "mlm_head_steps=0" else "mlm_head_steps=2" for a in argv]
    assert ablation.main(other) == 0
    out = capsys.readouterr().out
    kept = study / "students" / "abl-xh-xs-random-rel"
    assert f"note: {kept} was distilled with mlm_head_steps=0, not 2" in out


def test_a_field_of_the_rows_cannot_be_set_for_all_of_them(ablation, capsys):
    assert ablation.main(["--distill-set", "init_layers=random", "--table-only"]) == 2
    err = capsys.readouterr().err
    assert "--distill-set init_layers: the ablation's rows set this field" in err and "--minutes" in err


def test_an_unknown_row_is_a_usage_error_with_a_suggestion(ablation, capsys):
    assert ablation.main(["--rows", "layers-hidden", "--table-only"]) == 2
    err = capsys.readouterr().err
    assert "unknown ablation row 'layers-hidden'" in err and "layers-hid" in err
